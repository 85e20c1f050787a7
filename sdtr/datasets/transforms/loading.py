"""Image loading transform."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from sdtr.registry import TRANSFORMS
from ..utils import read_image


@TRANSFORMS.register_module()
class LoadImage(BaseTransform):
    """Read ``results['img_path']`` and decode it to a BGR ``uint8`` array.

    OpenCV decodes jpg/png/bmp and ordinary tif files (RSITMD, UCM); Pillow
    is the fallback for what OpenCV cannot read.  Single-channel images are
    repeated to 3 channels; 16-bit rasters are rescaled to 0-255.

    A missing, empty or undecodable file raises
    :class:`~sdtr.datasets.errors.BadImageError` naming the file; the
    transform never returns ``None`` (the dataset decides whether a bad
    training image may be skipped).

    Added keys: ``img`` (HxWx3 uint8, BGR), ``img_shape``, ``ori_shape``.

    Args:
        to_float32 (bool): convert to float32 (off: the data preprocessor
            normalises on the device).
        backend_args (dict, optional): mmengine file backend arguments.
    """

    def __init__(self, to_float32: bool = False,
                 backend_args: Optional[dict] = None):
        self.to_float32 = to_float32
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        img = read_image(results['img_path'], flag='color',
                         backend_args=self.backend_args)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(to_float32={self.to_float32}, '
                f'backend_args={self.backend_args})')
