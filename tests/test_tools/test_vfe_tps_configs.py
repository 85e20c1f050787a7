"""Every VFE-TPS config parses and builds; the full-size ones run one
training iteration on CPU (random init, batch 2, no checkpoint read).

The paper config runs unmodified (ViT-B/16 at 384x128, 12+12 layers, two
image passes: ~10 s on an idle 2-core CPU); the other full-size configs run
with 1 layer per tower (full widths and grid, the paper's 8-head / 4-layer
TG-MIM head) unless ``SDTR_FULL_SIZE_TESTS=1``.
"""
import os
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
# the VFE-TPS models (the folder also holds Table 5's plain CLIP rows)
CONFIGS = sorted(p for p in (REPO / 'configs/vfe_tps').glob('**/*.py')
                 if p.name.startswith('vfe-tps'))
FULL_STEP = ['vfe-tps_vit-b16_1xb100_cuhkpedes.py',
             'ablations/vfe-tps-released_vit-b16_1xb100_cuhkpedes.py',
             'vfe-tps_vit-b16_1xb100_rsitmd-galr.py']


FULL_SIZE = os.environ.get('SDTR_FULL_SIZE_TESTS') == '1'


def _model(cfg, full_depth=True):
    model_cfg = cfg.model.to_dict()
    model_cfg.pop('pretrained', None)  # never download in tests
    if not full_depth:
        model_cfg['image_encoder']['layers'] = 1
        model_cfg['text_encoder']['layers'] = 1
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def test_all_configs_parse():
    assert len(CONFIGS) >= 15
    names = {p.relative_to(REPO / 'configs/vfe_tps').as_posix()
             for p in CONFIGS}
    assert set(FULL_STEP) <= names
    for path in CONFIGS:
        cfg = Config.fromfile(str(path))
        assert cfg.model.type == 'VFETPSRetriever', path.name
        if 'synthetic' not in path.name:
            # paper settings (§4.3)
            assert cfg.train_dataloader.batch_size == 100, path.name
            assert cfg.optim_wrapper.optimizer.type == 'Adam'
            assert cfg.optim_wrapper.optimizer.lr == 1e-5
            assert cfg.model.tokenizer.context_length == 77
            if 'bert' not in path.name:  # ViT + BERT: per-tower weights
                assert cfg.model.pretrained.checkpoint == \
                    'openclip:ViT-B-16/openai'
            if 'rsitmd' not in path.name:
                tower = cfg.model.image_encoder
                size = tower.encoder.img_size if 'bert' in path.name \
                    else tower.image_size
                assert tuple(size) == (384, 128)
                assert cfg.train_cfg.max_epochs == 60
        mim = cfg.model.get('mim_head')
        if mim is not None and mim.type == 'TGMIMHead' and \
                'synthetic' not in path.name:
            assert mim.num_heads == 8 and mim.num_layers == 4


_needs_full = pytest.mark.skipif(
    not FULL_SIZE, reason='set SDTR_FULL_SIZE_TESTS=1 (~10-25 s each)')


@pytest.mark.parametrize('name,full_depth', [
    (FULL_STEP[0], True),  # the paper config, unmodified
    (FULL_STEP[2], False),  # 224x224 remote sensing: a 14x14 grid
] + [pytest.param(n, True, marks=_needs_full) for n in FULL_STEP[1:]])
def test_full_size_one_iteration(name, full_depth):
    cfg = Config.fromfile(str(REPO / 'configs/vfe_tps' / name))
    model = _model(cfg, full_depth)
    assert model.image_encoder.width == 768
    assert model.mim_head.num_layers == 4
    size = tuple(model._image_size)
    with DefaultScope.overwrite_default_scope('sdtr'):
        optim = build_optim_wrapper(model, cfg.optim_wrapper)
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, *size), dtype=torch.uint8,
                            generator=g) for _ in range(2)]
    samples = [DataSample(metainfo=dict(text=t, pid=p, image_id=p))
               for t, p in (('a man in a red coat', 0),
                            ('a woman with a blue bag', 1))]
    before = model.image_encoder.conv1.weight.detach().clone()
    log = model.train_step(dict(inputs=images, data_samples=samples), optim)
    assert all(torch.isfinite(v) for v in log.values())
    # the paper's CMPM, or the release's default sdm+gi2id
    assert 'loss_mim' in log
    assert ('loss_cmpm' in log) != ('loss_sdm' in log and
                                     'loss_visual_id' in log)
    assert not torch.equal(before, model.image_encoder.conv1.weight)


def test_paper_configs_train_on_random_batches():
    """The paper's epoch of random batches (no sampler named; the release's
    --sampler random); only the sampler ablation and the batch-hard triplet
    row use identity-balanced batches."""
    identity = {'ablations/vfe-tps-idsampler_vit-b16_1xb100_cuhkpedes.py',
                'ablations/vfe-tps-triplet_vit-b16_1xb100_cuhkpedes.py',
                'vfe-tps_vit-b16_1xb100_rsitmd-galr.py'}
    for path in CONFIGS:
        rel = path.relative_to(REPO / 'configs/vfe_tps').as_posix()
        if 'synthetic' in rel:
            continue
        sampler = Config.fromfile(str(path)).train_dataloader.sampler.type
        assert (sampler == 'IdentityBalancedSampler') == (rel in identity), \
            (rel, sampler)


def test_released_config_is_the_release_default_loss_set():
    cfg = Config.fromfile(str(
        REPO / 'configs/vfe_tps/ablations/'
        'vfe-tps-released_vit-b16_1xb100_cuhkpedes.py'))
    losses = {k: v.type for k, v in cfg.model.losses.items() if v}
    # utils/options.py --loss_names default 'sdm+gi2id+mim'
    assert losses == {'sdm': 'SDMLoss', 'visual_id': 'VisualIDLoss'}
    assert cfg.model.mim_head.loss_weight == 10.0
    assert cfg.model.mim_head.text_guided is False


def test_ablation_configs_build():
    # ablations differ only in the auxiliary parts: build the small ones
    expect = {
        'ablations/vfe-tps-baseline_vit-b16_1xb100_cuhkpedes.py': (None, []),
        'ablations/vfe-tps-tgmim_vit-b16_1xb100_cuhkpedes.py': ('TGMIMHead', []),
        'ablations/vfe-tps-isgvfc_vit-b16_1xb100_cuhkpedes.py': (None, ['isgvfc']),
        'ablations/vfe-tps-simmim_vit-b16_1xb100_cuhkpedes.py': ('SimMIMHead',
                                                       ['isgvfc']),
        'ablations/vfe-tps-mae_vit-b16_1xb100_cuhkpedes.py': ('MAEHead', ['isgvfc']),
        'ablations/vfe-tps-idloss_vit-b16_1xb100_cuhkpedes.py': ('TGMIMHead',
                                                       ['visual_id']),
        'ablations/vfe-tps-triplet_vit-b16_1xb100_cuhkpedes.py': ('TGMIMHead',
                                                        ['triplet']),
    }
    for name, (head, calib) in expect.items():
        cfg = Config.fromfile(str(REPO / 'configs/vfe_tps' / name))
        mim = cfg.model.get('mim_head')
        assert (mim.type if mim else None) == head, name
        # the calibration terms are losses of the one loop, after CMPM
        losses = {k: v for k, v in cfg.model.losses.items() if v is not None}
        assert sorted(losses) == sorted(['cmpm'] + calib), name
        # build the auxiliary parts alone (the towers are built above)
        if mim:
            MODELS.build(dict(mim, visual_dim=512, text_dim=512,
                              patch_size=16))
            gen = cfg.model.mask_generator
            assert (gen.mode == 'drop') == (mim.type == 'MAEHead'), name
        for key in calib:
            MODELS.build(losses[key])
