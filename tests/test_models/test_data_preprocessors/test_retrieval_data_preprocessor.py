import torch
from mmpretrain.structures import DataSample

from sdtr.models.data_preprocessors import (CLIP_MEAN, CLIP_STD,
                                            RetrievalDataPreprocessor)
from sdtr.registry import MODELS


def test_bgr_to_rgb_normalise_and_passthrough():
    pre = MODELS.build(dict(type='RetrievalDataPreprocessor'))
    assert isinstance(pre, RetrievalDataPreprocessor)
    img = torch.zeros(3, 4, 5, dtype=torch.uint8)
    img[0] = 10   # B
    img[1] = 20   # G
    img[2] = 250  # R
    samples = [DataSample(metainfo=dict(text='a cat', pid=1)),
               DataSample(metainfo=dict(text='a dog', pid=2))]
    out = pre(dict(inputs=[img, img.clone()], data_samples=samples), False)
    x = out['inputs']
    assert x.shape == (2, 3, 4, 5) and x.dtype == torch.float32
    for c, value in enumerate((250, 20, 10)):  # RGB order after conversion
        expected = (value - CLIP_MEAN[c]) / CLIP_STD[c]
        assert torch.allclose(x[:, c], torch.full((2, 4, 5), expected))
    assert [ds.text for ds in out['data_samples']] == ['a cat', 'a dog']
    assert [ds.pid for ds in out['data_samples']] == [1, 2]
    # CLIP statistics on the 0-255 scale
    assert abs(CLIP_MEAN[0] / 255 - 0.48145466) < 1e-7
    assert abs(CLIP_STD[2] / 255 - 0.27577711) < 1e-7


def _old_path(pre, data, training):
    """mmengine's per-sample ImgDataPreprocessor.forward (the path before
    the batched one)."""
    from mmengine.model import ImgDataPreprocessor
    return ImgDataPreprocessor.forward(pre, data, training)


def test_batched_path_equals_mmengine_per_sample_path_bit_for_bit():
    """Stacked uint8 (default_collate in the workers) and a list of images
    (pseudo_collate) give exactly mmengine's values: flip on uint8, one
    float32 subtraction, then the division."""
    import copy
    g = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (3, 7, 9), dtype=torch.uint8, generator=g)
            for _ in range(4)]
    samples = [DataSample(metainfo=dict(text=f'c{i}', pid=i))
               for i in range(4)]
    for cfg in (dict(), dict(bgr_to_rgb=False),
                dict(mean=(1.0, 2.0, 3.0), std=(4.0, 5.0, 6.0)),
                dict(pad_size_divisor=4, pad_value=7)):
        pre = MODELS.build(dict(type='RetrievalDataPreprocessor', **cfg))
        ref = _old_path(pre, dict(inputs=copy.deepcopy(imgs),
                                  data_samples=samples), True)['inputs']
        for inputs in (list(imgs), torch.stack(imgs)):
            out = pre(dict(inputs=inputs, data_samples=samples), True)
            assert out['inputs'].dtype == torch.float32
            assert torch.equal(out['inputs'], ref), cfg
            assert out['data_samples'] is samples


def test_different_sizes_take_mmengine_path_and_bad_channels_error():
    import pytest
    pre = MODELS.build(dict(type='RetrievalDataPreprocessor'))
    imgs = [torch.zeros(3, 4, 4, dtype=torch.uint8),
            torch.zeros(3, 6, 5, dtype=torch.uint8)]
    out = pre(dict(inputs=imgs, data_samples=None), False)
    assert out['inputs'].shape == (2, 3, 6, 5)  # padded as mmengine does
    with pytest.raises(ValueError, match='must have 3 channels'):
        pre(dict(inputs=torch.zeros(2, 1, 4, 4, dtype=torch.uint8),
                 data_samples=None), False)
