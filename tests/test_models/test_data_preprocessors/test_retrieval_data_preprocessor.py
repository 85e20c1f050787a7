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
