"""Image normalisation for retrieval models, on the model's device.

Pipelines end in ``PackRetrievalInputs`` with uint8 BGR images (as cv2
decodes them).  This preprocessor stacks them, converts BGR to RGB and
normalises

.. math::  x' = (x_{rgb} - \\mu) / \\sigma

with CLIP's statistics on the 0-255 scale (OpenAI:
mean (0.48145466, 0.4578275, 0.40821073) and std (0.26862954, 0.26130258,
0.27577711), times 255).  ``data_samples`` (which carry the captions) are
passed through untouched: captions are tokenised inside the model.
"""
from typing import Optional, Sequence, Union

from mmengine.model import ImgDataPreprocessor

from sdtr.registry import MODELS

CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


@MODELS.register_module()
class RetrievalDataPreprocessor(ImgDataPreprocessor):
    """mmengine ``ImgDataPreprocessor`` with CLIP defaults.

    Args:
        mean (Sequence[float]): per-channel mean, RGB order, 0-255 scale.
        std (Sequence[float]): per-channel std, RGB order, 0-255 scale.
        pad_size_divisor (int): pad H and W to a multiple of this (1).
        pad_value (float): padding value.
        bgr_to_rgb (bool): flip BGR (cv2) to RGB (True).
        rgb_to_bgr (bool): flip RGB to BGR (False).
        non_blocking (bool): non-blocking host-to-device copies.
    """

    def __init__(self,
                 mean: Optional[Sequence[Union[float, int]]] = CLIP_MEAN,
                 std: Optional[Sequence[Union[float, int]]] = CLIP_STD,
                 pad_size_divisor: int = 1,
                 pad_value: Union[float, int] = 0,
                 bgr_to_rgb: bool = True,
                 rgb_to_bgr: bool = False,
                 non_blocking: Optional[bool] = False):
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            rgb_to_bgr=rgb_to_bgr,
            non_blocking=non_blocking)
