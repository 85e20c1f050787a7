"""CLIPRetriever on the tiny config: losses, predict, a few steps."""
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.structures import DataSample

from sdtr.models.retrievers import BaseRetriever, CLIPRetriever
from sdtr.registry import MODELS

CFG_DIR = Path(__file__).resolve().parents[3] / 'configs/_base_/models'
CAPTIONS = ['a red car parked near a tree', 'two planes at the airport',
            'a man in a blue shirt', 'a white building beside a road',
            'a woman with a black bag', 'many boats in the harbour']


def _build(name='clip_tiny.py', **overrides):
    cfg = Config.fromfile(str(CFG_DIR / name))
    model_cfg = cfg.model
    model_cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(model_cfg)


def _train_batch(model, n=6, size=(64, 64)):
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, *size), dtype=torch.uint8,
                            generator=g) for _ in range(n)]
    pids = [0, 1, 2, 0, 3, 1][:n]
    samples = [DataSample(metainfo=dict(text=CAPTIONS[i], pid=pids[i],
                                        image_id=i, sample_idx=i))
               for i in range(n)]
    return model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                   True)


@pytest.fixture(scope='module')
def tiny():
    return _build()


def test_build_and_interface(tiny):
    assert isinstance(tiny, CLIPRetriever) and isinstance(tiny,
                                                         BaseRetriever)
    assert tiny.tokenizer.context_length == 32
    assert list(tiny.losses) == ['itc']
    out = tiny.encode_text(CAPTIONS[:2])
    assert out['global'].shape == (2, 128)
    assert out['tokens'].shape == (2, 32, 128)
    assert out['input_ids'].shape == out['attention_mask'].shape == (2, 32)
    img = tiny.encode_image(torch.randn(2, 3, 64, 64))
    assert img['global'].shape == (2, 128)
    assert img['tokens'].shape == (2, 1 + 64, 128)


def test_loss_finite_with_grads():
    model = _build(losses=[dict(type='InfoNCELoss'), dict(type='SDMLoss'),
                           dict(type='IDLoss', in_channels=128,
                                num_classes=4)])
    model.train()
    data = _train_batch(model)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_itc', 'loss_sdm', 'loss_id'}
    total = sum(losses.values())
    assert all(torch.isfinite(v) for v in losses.values())
    total.backward()
    for name in ('image_encoder.conv1.weight', 'text_encoder.text_projection',
                 'logit_scale', 'losses.id.classifier.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and torch.isfinite(grad).all(), name
    # parse_losses sums every loss_* term
    parsed, log_vars = model.parse_losses(losses)
    assert torch.allclose(parsed, total)


def test_predict_fields_and_normalisation(tiny):
    tiny.eval()
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
              for _ in range(3)]
    counts = [2, 3, 1]
    samples, start = [], 0
    for i, n in enumerate(counts):
        samples.append(DataSample(metainfo=dict(
            texts=CAPTIONS[start:start + n],
            text_ids=list(range(start, start + n)), image_id=i, pid=i,
            text_pids=[i] * n, label=-1, sample_idx=i)))
        start += n
    data = tiny.data_preprocessor(dict(inputs=images, data_samples=samples),
                                  False)
    with torch.no_grad():
        out = tiny(**data, mode='predict')
    assert len(out) == 3
    for i, (ds, n) in enumerate(zip(out, counts)):
        assert ds.image_id == i and ds.pid == i and ds.text_pids == [i] * n
        assert ds.img_feat.shape == (128, )
        assert ds.text_feats.shape == (n, 128)
        assert torch.allclose(ds.img_feat.norm(), torch.tensor(1.),
                              atol=1e-5)
        assert torch.allclose(ds.text_feats.norm(dim=-1), torch.ones(n),
                              atol=1e-5)
    # captions batched together give the same features as one by one
    with torch.no_grad():
        single = F.normalize(tiny.encode_text([CAPTIONS[3]])['global'], dim=-1)
        img0 = F.normalize(tiny.encode_image(data['inputs'][:1])['global'],
                           dim=-1)
    assert torch.allclose(out[1].text_feats[1], single[0], atol=1e-5)
    assert torch.allclose(out[0].img_feat, img0[0], atol=1e-5)
    # tensor mode: raw encoder outputs
    with torch.no_grad():
        feats = tiny(**data, mode='tensor')
    assert feats['image']['global'].shape == (3, 128)
    assert feats['text']['global'].shape == (6, 128)
    with pytest.raises(RuntimeError):
        tiny(**data, mode='nope')


def test_optimisation_decreases_loss():
    model = _build('clip_tiny_person.py',
                   losses=dict(itc=dict(type='InfoNCELoss'),
                               sdm=dict(type='SDMLoss')))
    assert model.image_encoder.grid_size == (12, 4)
    model.train()
    data = _train_batch(model, size=(96, 32))
    optim = torch.optim.AdamW(model.parameters(), lr=3e-4)

    def step():
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim.zero_grad()
        loss.backward()
        optim.step()
        return loss.item()

    first = step()
    for _ in range(7):
        last = step()
    assert last < 0.5 * first, (first, last)


def test_loss_name_handling_and_checks():
    from sdtr.models.retrievers.base import LossSpec, build_losses
    built, specs = build_losses([dict(type='InfoNCELoss'),
                                 dict(type='InfoNCELoss', local_loss=True),
                                 dict(type='CMPMLoss', label_key='image_id')])
    assert list(built) == list(specs) == ['itc', 'itc2', 'cmpm']
    assert specs['itc2'] == LossSpec(('img', 'txt'), 'pid', True)
    # CMPM's paper form scales by the model's logit scale, IRRA's does not
    assert specs['cmpm'] == LossSpec(('img', 'txt'), 'image_id', True)
    assert not build_losses(dict(type='CMPMLoss', mode='irra'))[1][
        'cmpm'].uses_logit_scale
    assert list(build_losses(dict(type='SDMLoss'))[0]) == ['sdm']
    with pytest.raises(ValueError, match='embed_dim'):
        _build(text_encoder=dict(type='CLIPTextTransformer', arch=None,
                                 context_length=32, width=64, heads=1,
                                 layers=1, embed_dim=64))
    with pytest.raises(ValueError, match='context_length'):
        _build(tokenizer=dict(type='CLIPTokenizer', context_length=77))


def test_configs_build():
    for name in ('clip_vit-b16.py', 'clip_vit-b16_person.py'):
        cfg = Config.fromfile(str(CFG_DIR / name)).model
        assert cfg.image_encoder.act == cfg.text_encoder.act == 'quick_gelu'
        assert cfg.pretrained.checkpoint == 'openclip:ViT-B-16/openai'
    person = Config.fromfile(str(CFG_DIR / 'clip_vit-b16_person.py')).model
    assert tuple(person.image_encoder.image_size) == (384, 128)


def test_linear_probe_freezes_the_towers_and_trains_two_linear_maps():
    """VFE-TPS Table 5 "Linear probe CLIP": g = W CLIP(x) + b per modality,
    only W, b get gradients."""
    model = _build(linear_probe=True)
    trainable = sorted(n for n, p in model.named_parameters()
                       if p.requires_grad)
    assert trainable == ['image_probe.bias', 'image_probe.weight',
                         'logit_scale', 'text_probe.bias',
                         'text_probe.weight']
    model.eval()
    images = torch.randn(2, 3, 64, 64)
    tower = model.image_encoder(images)['global']
    got = model.encode_image(images)['global']
    torch.testing.assert_close(
        got, tower @ model.image_probe.weight.t() + model.image_probe.bias)
    tok = model.tokenizer(CAPTIONS[:2])
    text = model.text_encoder(tok['input_ids'], tok['attention_mask'])
    torch.testing.assert_close(
        model.encode_text(CAPTIONS[:2])['global'],
        model.text_probe(text['global']))
    model.train()
    data = _train_batch(model)
    loss = sum(model(**data, mode='loss').values())
    loss.backward()
    assert model.image_probe.weight.grad.abs().sum() > 0
    assert model.image_encoder.conv1.weight.grad is None
    # a retriever that encodes images its own way cannot take the probe
    with pytest.raises(ValueError, match='linear_probe'):
        MODELS.build(dict(Config.fromfile(
            str(CFG_DIR / 'pir_clip_tiny.py')).model, linear_probe=True))
