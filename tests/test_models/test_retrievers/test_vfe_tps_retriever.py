"""VFETPSRetriever on the tiny config: losses (eq. 10), MIM modes, predict."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from sdtr.models.retrievers import CLIPRetriever, VFETPSRetriever
from sdtr.registry import MODELS

CFG = Path(__file__).resolve().parents[3] / \
    'configs/_base_/models/vfe_tps_tiny_person.py'
CAPTIONS = ['a man in a red shirt and blue jeans',
            'a woman with a black bag and white shoes',
            'a man wearing a green jacket', 'a girl in a yellow dress',
            'the man has a red shirt', 'a woman carrying a black bag']
PIDS = [0, 1, 2, 3, 0, 1]

#: the tiny config's matching loss (``_build`` replaces ``losses`` whole)
CMPM = dict(type='CMPMLoss', mode='paper')


def _build(**overrides):
    cfg = Config.fromfile(str(CFG)).model.to_dict()
    cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _batch(model, n=6):
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 96, 32), dtype=torch.uint8,
                            generator=g) for _ in range(n)]
    samples = [DataSample(metainfo=dict(text=CAPTIONS[i], pid=PIDS[i],
                                        image_id=i, sample_idx=i))
               for i in range(n)]
    return model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                   True)


@pytest.fixture(scope='module')
def tiny():
    return _build()


def test_losses_and_gradients(tiny):
    assert isinstance(tiny, VFETPSRetriever)
    assert isinstance(tiny, CLIPRetriever)
    data = _batch(tiny)
    losses = tiny(**data, mode='loss')
    assert set(losses) == {'loss_cmpm', 'loss_isgvfc', 'loss_mim',
                           'isgvfc_pos_frac'}
    assert all(torch.isfinite(v) for v in losses.values())
    # PIDS 0,1,2,3,0,1: rows 0,1,4,5 have a partner (C = 20 >= 6: all rows)
    assert losses['isgvfc_pos_frac'].item() == pytest.approx(4 / 6)
    # a log scalar, not a loss: mmengine's parse_losses leaves it out of
    # the total but logs it
    total, log_vars = tiny.parse_losses(losses)
    assert total.item() == pytest.approx(sum(
        v.item() for k, v in losses.items() if k.startswith('loss_')),
        rel=1e-6)
    assert log_vars['isgvfc_pos_frac'].item() == pytest.approx(4 / 6)
    assert not losses['isgvfc_pos_frac'].requires_grad
    tiny.zero_grad()
    losses['loss_mim'].backward()
    # MIM trains the image tower and the head, not the text tower's
    # embeddings directly (only through the text tokens used as keys)
    assert tiny.image_encoder.conv1.weight.grad.abs().sum() > 0
    assert tiny.mim_head.decoder.decoder[0].weight.grad.abs().sum() > 0
    assert tiny.text_encoder.token_embedding.weight.grad.abs().sum() > 0
    tiny.zero_grad()
    losses = tiny(**data, mode='loss')
    losses['loss_isgvfc'].backward()
    assert tiny.image_encoder.conv1.weight.grad.abs().sum() > 0
    assert tiny.text_encoder.token_embedding.weight.grad is None or \
        tiny.text_encoder.token_embedding.weight.grad.abs().sum() == 0


def test_reconstruct_pixel_mode_uses_masked_image_and_text(tiny):
    data = _batch(tiny)
    images = data['inputs']
    text = tiny.encode_text(CAPTIONS)
    mask = tiny.mask_generator.generate(6, (96, 32), 8)
    with torch.no_grad():
        rec = tiny.reconstruct(images, text, mask)
        assert rec['pred'].shape == images.shape
        pm = rec['pixel_mask'].expand_as(images).bool()
        assert (rec['masked_images'][pm] == 0).all()
        # changing masked pixels does not change the prediction
        noisy = images.clone()
        noisy[pm] = torch.randn(int(pm.sum()))
        rec2 = tiny.reconstruct(noisy, text, mask)
        assert torch.allclose(rec['pred'], rec2['pred'], atol=1e-5)
        # another caption changes it (text-guided)
        other = tiny.encode_text(CAPTIONS[::-1])
        rec3 = tiny.reconstruct(images, other, mask)
        assert not torch.allclose(rec['pred'], rec3['pred'], atol=1e-4)


def test_released_token_mode_and_image_only_head():
    model = _build(
        mask_generator=dict(type='PatchMaskGenerator', mask_ratio=0.6,
                            mask_patch_size=16, mode='token'),
        mim_head=dict(type='TGMIMHead', embed_dims=128, num_heads=2,
                      num_layers=1, text_guided=False,
                      use_key_padding_mask=False, loss_weight=10.0),
        losses=dict(cmpm=dict(type='CMPMLoss', mode='irra'),
                    isgvfc=dict(type='ISGVFCLoss', num_samples=None)))
    assert model.mask_generator.mask_token.shape == (1, 1, 128)
    data = _batch(model)
    losses = model(**data, mode='loss')
    losses['loss_mim'].backward()
    assert model.mask_generator.mask_token.grad.abs().sum() > 0
    text_a = model.encode_text(CAPTIONS)
    text_b = model.encode_text(CAPTIONS[::-1])
    mask = model.mask_generator.generate(6, (96, 32), 8)
    with torch.no_grad():
        a = model.reconstruct(data['inputs'], text_a, mask)['pred']
        b = model.reconstruct(data['inputs'], text_b, mask)['pred']
    assert torch.equal(a, b)


@pytest.mark.parametrize('calib', [
    dict(visual_id=dict(type='VisualIDLoss', in_channels=128,
                        num_classes=4)),
    dict(triplet=dict(type='IdentityTripletLoss', margin=0.3)),
])
def test_calibration_variants_and_simmim(calib):
    model = _build(losses=dict(cmpm=CMPM, **calib),
                   mim_head=dict(type='SimMIMHead'))
    losses = model(**_batch(model), mode='loss')
    name = list(calib)[0]
    logs = {'triplet_pos_frac'} if name == 'triplet' else set()
    assert set(losses) == {'loss_cmpm', 'loss_mim', f'loss_{name}'} | logs
    model.parse_losses(losses)[0].backward()


def test_baseline_and_predict():
    model = _build(mim_head=None, losses=dict(cmpm=CMPM))
    assert model.mim_head is None
    data = _batch(model)
    assert set(model(**data, mode='loss')) == {'loss_cmpm'}
    with pytest.raises(RuntimeError, match='mim_head'):
        model.reconstruct(data['inputs'])
    test_samples = [DataSample(metainfo=dict(texts=CAPTIONS[:2],
                                             image_id=0)),
                    DataSample(metainfo=dict(texts=CAPTIONS[2:3],
                                             image_id=1))]
    with torch.no_grad():
        out = model(data['inputs'][:2], test_samples, mode='predict')
    assert out[0].img_feat.shape == (128, )
    assert out[0].text_feats.shape == (2, 128)
    assert torch.allclose(out[1].text_feats.norm(dim=-1), torch.ones(1))


def test_bad_configs():
    with pytest.raises(ValueError, match='not divisible by mask_patch_size'):
        _build(mask_generator=dict(type='PatchMaskGenerator',
                                   mask_patch_size=24))
    with pytest.raises(ValueError, match='patch_size'):
        _build(mim_head=dict(type='TGMIMHead', embed_dims=128, num_heads=2,
                             patch_size=16))
    with pytest.raises(ValueError, match="loss 'mim'.*extra_losses"):
        _build(losses=dict(cmpm=CMPM, mim=dict(type='ISGVFCLoss')))
    with pytest.raises(ValueError, match='drop'):
        _build(mim_head=dict(type='MAEHead'))  # needs mode='drop'
    with pytest.raises(ValueError, match='pixel or token'):
        _build(mask_generator=dict(type='PatchMaskGenerator',
                                   mask_patch_size=16, mode='drop'))
    model = _build()
    with pytest.raises(ValueError, match='expects'):
        model.reconstruct(torch.randn(1, 3, 64, 32))
    # a calibration log scalar named like a loss would be summed: refused
    model = _build(losses=dict(
        cmpm=CMPM, myloss=dict(type='ISGVFCLoss', num_samples=None)))
    with pytest.raises(ValueError, match='contains "loss"'):
        model(**_batch(model), mode='loss')


def test_mae_variant_encoder_sees_visible_patches_only():
    model = _build(mim_head=dict(type='MAEHead', decoder_embed_dims=64,
                                 num_layers=1, num_heads=2),
                   mask_generator=dict(type='PatchMaskGenerator',
                                       mask_ratio=0.5, mask_patch_size=16,
                                       mode='drop'))
    data = _batch(model)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cmpm', 'loss_isgvfc', 'loss_mim',
                           'isgvfc_pos_frac'}
    losses['loss_mim'].backward()
    assert model.image_encoder.conv1.weight.grad.abs().sum() > 0
    images = data['inputs']
    mask = model.mask_generator.generate(6, (96, 32), 8)
    model.eval()
    with torch.no_grad():
        rec = model.reconstruct(images, None, mask)
        noisy = images.clone()
        pm = rec['pixel_mask'].expand_as(images).bool()
        noisy[pm] = torch.randn(int(pm.sum()))
        assert torch.allclose(rec['pred'],
                              model.reconstruct(noisy, None, mask)['pred'],
                              atol=1e-5)
        # the tower hook: keeping every patch changes nothing
        tower = model.image_encoder
        emb = tower.embed(images)
        keep = torch.arange(48).expand(6, -1)
        assert torch.allclose(tower.forward_tokens(emb)['tokens'],
                              tower.forward_tokens(emb, keep_index=keep)[
                                  'tokens'], atol=1e-5)
