"""get_model_and_transforms: the model plus its test-time image transform
(open_clip's create_model_and_transforms counterpart)."""
import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sdtr.apis import ImageTransform, get_model_and_transforms
from sdtr.search import RetrievalInferencer
from .helpers import TINY_RS

CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


@pytest.fixture(scope='module')
def model_and_transform():
    torch.manual_seed(0)
    return get_model_and_transforms(str(TINY_RS))


def test_constant_image_is_normalised_by_hand(model_and_transform):
    _, transform = model_and_transform
    assert isinstance(transform, ImageTransform)
    rgb = np.empty((40, 50, 3), np.uint8)
    rgb[...] = (200, 100, 30)  # R, G, B
    x = transform(rgb)
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    for c, value in enumerate((200, 100, 30)):
        expected = (value - CLIP_MEAN[c]) / CLIP_STD[c]
        torch.testing.assert_close(x[c], torch.full((64, 64), expected))


def test_transform_feeds_the_model_like_the_inferencer(model_and_transform,
                                                       tmp_path):
    model, transform = model_and_transform
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (48, 56, 3), dtype=np.uint8)
    path = str(tmp_path / 'img.png')
    cv2.imwrite(path, rgb[..., ::-1])
    from PIL import Image
    for image in (path, rgb, Image.open(path)):
        torch.testing.assert_close(transform(image), transform(rgb))
    batch = torch.stack([transform(path), transform(rgb[::-1].copy())])
    with torch.no_grad():
        ours = F.normalize(model.image_embedding(model.encode_image(batch)),
                           dim=-1)
    ref = RetrievalInferencer(model).encode_image([path,
                                                   rgb[::-1].copy()])
    torch.testing.assert_close(ours, ref)


def test_bad_inputs_are_named(model_and_transform, tmp_path):
    _, transform = model_and_transform
    with pytest.raises(FileNotFoundError, match='nope.png'):
        transform(str(tmp_path / 'nope.png'))
    with pytest.raises(ValueError, match='uint8 RGB'):
        transform(np.zeros((4, 4), np.uint8))
    with pytest.raises(TypeError, match='image path'):
        transform(3)
