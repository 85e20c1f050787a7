"""EKLSR configs: parse, paper settings, ablation rows and same-budget tiny
configs.  The full-size ViT-B/16 models (224 and 384x128) are run for one
training iteration and one evaluation batch by
``tools/analysis_tools/eklsr_full_size_check.py`` (about 1-2 CPU minutes
each, too slow for the unit-test budget)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
EKLSR = osp.join(REPO, 'configs', 'eklsr')


def load(name):
    return Config.fromfile(osp.join(EKLSR, name))


def test_every_config_parses_with_its_paper_setting():
    files = sorted(glob.glob(osp.join(EKLSR, '**', '*.py'), recursive=True))
    assert len(files) == 25
    for path in files:
        cfg = Config.fromfile(path)
        m = cfg.model
        assert m.type == 'EKLSRRetriever', path
        if 'tiny' in path:
            continue
        person = any(d in path for d in ('cuhkpedes', 'icfgpedes',
                                         'rstpreid'))
        ratios = (0.55, 0.70, 0.2, 0.2) if person else (0.3, 0.3, 0.5, 0.5)
        keys = ('image_selector', 'text_selector', 'image_klr_selector',
                'text_klr_selector')
        for key, ratio in zip(keys, ratios):
            if m.get(key) is not None:
                assert m[key].ratio == ratio, (path, key)
        for head in ('text_klr_head', 'image_klr_head'):
            if m.get(head) is not None:
                assert m[head].loss_weight == 0.1, (path, head)
        assert cfg.optim_wrapper.optimizer.lr == 1e-5
        assert cfg.train_dataloader.batch_size == 128
        assert cfg.train_cfg.max_epochs == (50 if person else 10)
        assert cfg.param_scheduler.warmup_iters == 2000
        size = m.image_encoder.image_size
        assert tuple(size) == (384, 128) if person else size == 224


ROWS = {  # Table 5 / 6 rows: (KLSF, Text KLR, Image KLR, interaction)
    'baseline': (False, False, False, None),  # row 0
    'klsf': (True, False, False, None),  # row 1
    'klsf-textklr': (True, True, False, True),  # row 2
    'klsf-imageklr': (True, False, True, True),  # row 3
    'wo-interaction': (True, True, True, False),  # row 4
}


def ablation(variant, ds):
    return load(f'ablations/eklsr-{variant}_vit-b16_1xb128_{ds}.py').model


@pytest.mark.parametrize('ds', ['rsitmd-galr', 'cuhkpedes'])
def test_ablation_rows(ds):
    for tag, (klsf, tklr, iklr, inter) in ROWS.items():
        m = ablation(tag, ds)
        assert (m.image_neck is not None) == klsf == (
            m.text_neck is not None), tag
        assert (m.text_klr_head is not None) == tklr, tag
        assert (m.image_klr_head is not None) == iklr == (
            m.target_generator is not None), tag
        for head in ('text_klr_head', 'image_klr_head'):
            if m[head] is not None:
                assert m[head].with_interaction == inter, tag
    for mode in ('random', 'topk'):
        m = ablation(f'klsf-{mode}', ds)  # Table 6 rows 0-1
        assert m.image_selector.mode == m.text_selector.mode == mode
        assert m.text_klr_head is None and m.image_klr_head is None
        m = ablation(f'klr-{mode}', ds)  # Table 6 rows 3-4
        assert m.image_klr_selector.mode == m.text_klr_selector.mode == mode
        assert m.image_selector.mode == 'polynomial'


@pytest.mark.parametrize('kind', ['rs', 'person'])
def test_tiny_config_has_the_baseline_budget(kind):
    ours = load(f'eklsr_tiny_1xb32_synthetic-{kind}.py')
    base = Config.fromfile(osp.join(
        REPO, 'configs', 'quickstart', f'clip_tiny_1xb32_synthetic-{kind}.py'))
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler',
                'train_dataloader', 'val_dataloader', 'val_evaluator',
                'randomness', 'auto_scale_lr'):
        assert ours[key] == base[key], key
    for key in ('image_encoder', 'text_encoder', 'losses', 'logit_scale'):
        assert ours.model[key] == base.model[key], key
    assert ours.model.tokenizer.context_length == \
        base.model.tokenizer.context_length
