"""PIRCLIPRetriever: composition, losses on a shared scale, switches,
predict, and the PIR-CLIP config files."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from sdtr.models.retrievers import BaseRetriever, PIRCLIPRetriever
from sdtr.registry import MODELS

REPO = Path(__file__).resolve().parents[3]
CAPTIONS = ['a red car parked near a tree', 'two planes at the airport',
            'many boats in the harbour', 'a white building beside a road',
            'green fields around a farm', 'a river crossing the forest']


def _cfg(**overrides):
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models/pir_clip_tiny.py'))
    cfg.merge_from_dict({f'model.{k}': v for k, v in overrides.items()})
    return cfg.model


def _build(**overrides):
    torch.manual_seed(0)
    return MODELS.build(_cfg(**overrides))


def _batch(model, n=4):
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8,
                            generator=g) for _ in range(n)]
    scenes = [0, 1, 2, 0, 1, 2][:n]
    samples = [DataSample(metainfo=dict(text=CAPTIONS[i], pid=i, image_id=i,
                                        label=scenes[i], sample_idx=i))
               for i in range(n)]
    return model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                   True)


def test_losses_shared_scale_and_gradients():
    model = _build()
    assert isinstance(model, PIRCLIPRetriever) and isinstance(
        model, BaseRetriever)
    # one scale, the model's: the affiliation loss owns none and reads the
    # scene labels
    assert model.loss_specs['affil'].uses_logit_scale
    assert model.loss_specs['affil'].label_key == 'label'
    assert [n for n, _ in model.named_parameters()
            if n.endswith('logit_scale')] == ['logit_scale']
    data = _batch(model)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_itc', 'loss_affil'}
    out = model.encode_image(data['inputs'])
    assert out['tokens'].shape[1] == 2 + 64
    assert out['instruction'].shape == (4, 128)
    sum(losses.values()).backward()
    for name in ('instruction_encoder.resnet.conv1.weight',
                 'instruction_encoder.proj.weight',
                 'image_encoder.conv1.weight', 'logit_scale'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    # the affiliation loss reads CLIP's (clamped) scale
    with torch.no_grad():
        model.logit_scale.fill_(1.0)
        low = model(**data, mode='loss')['loss_affil']
        model.logit_scale.fill_(50.0)  # clamped to log(100)
        high = model(**data, mode='loss')['loss_affil']
        model.logit_scale.fill_(4.6051702)
        clamp = model(**data, mode='loss')['loss_affil']
    assert not torch.allclose(low, high)
    torch.testing.assert_close(high, clamp)


def test_ablation_switches():
    no_al = _build(losses=dict(affil=None))
    assert set(no_al(**_batch(no_al), mode='loss')) == {'loss_itc'}
    plain = _build(
        image_encoder=dict(_delete_=True, type='CLIPVisionTransformer',
                           arch=None, image_size=64, patch_size=8, width=128,
                           layers=3, heads=2, embed_dim=128,
                           act='quick_gelu'),
        instruction_encoder=None)
    assert plain.instruction_encoder is None
    out = plain.encode_image(_batch(plain)['inputs'])
    assert out['tokens'].shape[1] == 1 + 64 and 'instruction' not in out
    assert set(plain(**_batch(plain), mode='loss')) == {'loss_itc',
                                                         'loss_affil'}
    with pytest.raises(TypeError, match='temperature is the model'):
        _build(losses=dict(affil=dict(temperature=0.07)))
    # identities fed to the affiliation loss: a build error naming the loss,
    # the key and the expected one
    with pytest.raises(ValueError, match=r"loss 'affil' \(AffiliationLoss\) "
                       r"is given label_key='pid', expected one of "
                       r"\('label',\)"):
        _build(losses=dict(affil=dict(label_key='pid')))
    with pytest.raises(ValueError, match='instruction_encoder'):
        _build(instruction_encoder=None)
    with pytest.raises(ValueError, match='out_dim'):
        _build(instruction_encoder=dict(out_dim=96))


def test_temporal_pae_text_switch_ignores_padding():
    model = _build(text_neck=dict(_delete_=True, type='TemporalPAE', dim=128,
                                   num_heads=2))
    model.eval()
    with torch.no_grad():
        plain = model.text_encoder(**{
            k: v for k, v in model.tokenize(CAPTIONS[:2]).items()})['global']
        out = model.encode_text(CAPTIONS[:2])
        assert out['global'].shape == (2, 128)
        assert not torch.allclose(out['global'], plain)
        # padding never changes a caption's embedding
        tok = model.tokenize(CAPTIONS[:1])
        garbage = tok['input_ids'].clone()
        pad = tok['attention_mask'] == 0
        garbage[pad] = 1234
        a = model.encode_tokens(tok['input_ids'], tok['attention_mask'])
        b = model.encode_tokens(garbage, tok['attention_mask'])
    torch.testing.assert_close(a['global'], b['global'])


def test_predict_contract():
    model = _build().eval()
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8)
              for _ in range(2)]
    samples = [DataSample(metainfo=dict(texts=CAPTIONS[2 * i:2 * i + 2],
                                        text_ids=[2 * i, 2 * i + 1],
                                        image_id=i, pid=i, sample_idx=i))
               for i in range(2)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples))
    with torch.no_grad():
        out = model(**data, mode='predict')
    for ds in out:
        assert ds.img_feat.shape == (128, ) and ds.text_feats.shape == (2,
                                                                        128)
        torch.testing.assert_close(ds.img_feat.norm(), torch.tensor(1.))


@pytest.mark.parametrize('name', [
    'ablations/pir-clip-stage1-released_vit-b32-rn50_8xb32_rs5m',
    'pir-clip_vit-b32-rn50_8xb64_rsicd-karpathy',
    'pir-clip_vit-b32-rn50_8xb64_rsitmd-pir', 'pir-clip_vit-b32-rn50_8xb64_ret2',
    'pir-clip_vit-b32-rn50_8xb64_ret3',
    'ablations/pir-clip-wo-al_vit-b32-rn50_8xb64_rsitmd-pir',
    'ablations/clip_vit-b32_8xb64_rsitmd-pir',
    'ablations/clip-al_vit-b32_8xb64_rsitmd-pir',
    'pir-clip_tiny_1xb32_synthetic-shards',
    'pir-clip_tiny_1xb32_synthetic-rs',
    'pir-clip-zeroshot_tiny_1xb64_synthetic-scenes'
])
def test_configs_parse_and_tiny_ones_build(name):
    cfg = Config.fromfile(str(REPO / 'configs/pir_clip' / f'{name}.py'))
    stem = name.rsplit('/', 1)[-1]
    if 'tiny' in name:
        model = MODELS.build(cfg.model)
        assert isinstance(model, PIRCLIPRetriever)
        return
    if stem.startswith('pir-clip'):
        assert cfg.model.type == 'PIRCLIPRetriever'
        assert cfg.model.image_encoder.arch == 'ViT-B-32'
        assert cfg.model.instruction_encoder.out_dim == 768
        # stage 1 (released): the README's settings; stage 2: "other
        # settings are the same as for PIR-ITR" (PIR §V-C)
        lr, wd, beta2 = (1e-5, 0.5, 0.999) if stem.endswith('rs5m') else (
            6e-5, 0.01, 0.98)
        opt = cfg.optim_wrapper.optimizer
        assert (opt.lr, opt.weight_decay, opt.betas[1]) == (lr, wd, beta2)
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        # PIR §V-C: pre-training batch 256, fine-tuning batch 512
        assert cfg.train_dataloader.batch_size * 8 == (
            256 if stem.endswith('rs5m') else 512)
    if stem.endswith('rs5m'):
        assert cfg.train_dataloader.dataset.resampled is True
        assert cfg.train_dataloader.dataset.epoch_size == 1_000_000
        assert cfg.train_cfg.max_epochs == 20
        assert cfg.param_scheduler.warmup_iters == 10000
    elif stem.startswith('pir-clip'):
        assert cfg.train_cfg.max_epochs == 10 and cfg.load_from
        assert cfg.model.pretrained is None
        assert cfg.param_scheduler.anneal == 'linear'
    if stem.startswith('pir-clip-wo-al'):
        assert cfg.model.losses.affil is None
    if stem.startswith('clip-al'):
        assert cfg.model.instruction_encoder is None
        assert cfg.model.image_encoder.type == 'CLIPVisionTransformer'
    if stem.startswith('clip_'):
        assert cfg.model.type == 'CLIPRetriever'
