"""PatchMaskGenerator: ratio, alignment with mask patches, hiding modes."""
import math

import pytest
import torch

from sdtr.registry import MODELS


def _gen(**kw):
    return MODELS.build(dict(type='PatchMaskGenerator', **kw))


@pytest.mark.parametrize('size,P,mps,ratio', [((384, 128), 16, 32, 0.6),
                                              ((96, 32), 8, 16, 0.5),
                                              ((224, 224), 16, 16, 0.75)])
def test_ratio_and_alignment(size, P, mps, ratio):
    gen = _gen(mask_ratio=ratio, mask_patch_size=mps)
    g = torch.Generator().manual_seed(0)
    mask = gen.generate(5, size, P, generator=g)
    gh, gw = size[0] // P, size[1] // P
    assert mask.shape == (5, gh, gw) and mask.dtype == torch.bool
    n_coarse = (size[0] // mps) * (size[1] // mps)
    k = math.ceil(n_coarse * ratio)
    s = mps // P
    assert gen.num_masked(size, P) == k
    # exactly k mask patches = k * s^2 model patches per image
    assert (mask.flatten(1).sum(1) == k * s * s).all()
    # every s x s block is all-masked or all-visible (aligned with patches)
    blocks = mask.view(5, gh // s, s, gw // s, s).permute(0, 1, 3, 2, 4)
    blocks = blocks.reshape(5, gh // s, gw // s, s * s)
    assert ((blocks.all(-1)) | (~blocks.any(-1))).all()
    # different images get different masks
    assert not (mask[0] == mask[1]).all()
    # the pixel mask covers exactly the masked P x P patches
    pm = gen.pixel_mask(mask, P)
    assert pm.shape == (5, 1, *size)
    assert pm.sum().item() == mask.sum().item() * P * P
    assert torch.equal(pm[:, 0, ::P, ::P].bool(), mask)


def test_pixel_mode_zeroes_masked_pixels_only():
    gen = _gen(mask_ratio=0.5, mask_patch_size=8)
    images = torch.randn(2, 3, 32, 16) + 5
    mask = gen.generate(2, (32, 16), 8)
    out = gen.mask_images(images, mask, 8)
    pm = gen.pixel_mask(mask, 8).expand_as(images).bool()
    assert (out[pm] == 0).all()
    assert torch.equal(out[~pm], images[~pm])


def test_token_mode_learnable_mask_token():
    gen = _gen(mask_ratio=0.5, mask_patch_size=8, mode='token', token_dim=6)
    tokens = torch.randn(2, 8, 6)
    mask = gen.generate(2, (32, 16), 8)  # 4x2 grid
    out = gen.mask_tokens(tokens, mask)
    w = mask.flatten(1)
    assert torch.allclose(out[w], gen.mask_token.view(1, 6).expand(
        int(w.sum()), 6))
    assert torch.equal(out[~w], tokens[~w])
    out.sum().backward()
    assert gen.mask_token.grad is not None
    idx = gen.visible_index(mask)
    assert idx.shape == (2, 4)
    assert torch.equal(torch.gather(w, 1, idx), torch.zeros_like(idx,
                                                                  dtype=bool))


def test_bad_settings():
    with pytest.raises(ValueError, match='mask_ratio'):
        _gen(mask_ratio=1.0)
    with pytest.raises(ValueError, match='mode'):
        _gen(mode='blur')
    with pytest.raises(ValueError, match='token_dim'):
        _gen(mode='token')
    with pytest.raises(ValueError, match='multiple of the model patch'):
        _gen(mask_patch_size=24).generate(1, (96, 48), 16)
    with pytest.raises(ValueError, match='not divisible by mask_patch_size'):
        _gen(mask_patch_size=32).generate(1, (96, 48), 16)
