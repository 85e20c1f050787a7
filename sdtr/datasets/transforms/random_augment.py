"""The ``RandomAugment`` of ALBEF / X-VLM, which PIR-ITR trains with.

PIR-ITR (X-VLM-derived) augments every training image after the random
resized crop and the horizontal flip with ``RandomAugment(2, 7, isPIL=True,
augs=[...])``.  The class is the same file in the three public code bases:

* ``salesforce/ALBEF`` @ ``b9727e43c3040491774d1b22cc27718aa7772fac``,
  ``dataset/randaugment.py`` (origin);
* ``zengyan-97/X-VLM`` @ ``cb4fff15bcc30bba710a7717318e6b963e6935a4``,
  ``dataset/randaugment.py`` (identical);
* ``jaychempan/PIR`` @ ``e3faeda27f8ae390332e4079fc3e8bed6ff7f98c``,
  ``dataset/randaugment.py`` (identical), used in ``dataset/__init__.py``
  with 2 ops, magnitude 7 and the op list below.

Its behaviour, which this transform reproduces (also summarised in
``configs/pir_itr/README.md``):

* ``num_ops`` (N = 2) op names are drawn uniformly **with replacement** from
  ``ops`` (Identity, AutoContrast, Equalize, Brightness, Sharpness, ShearX,
  ShearY, TranslateX, TranslateY, Rotate); each drawn op is then applied
  with probability ``prob`` = 0.5, in the drawn order.
* Every op has one **fixed** magnitude at level ``M`` (7) of
  ``max_level`` (10); only the geometric ops draw a sign (±, 50 % each):

  ================  =============================================  ==========
  op                parameter at level M                           M = 7
  ================  =============================================  ==========
  Brightness        factor ``1.8 M / 10 + 0.1`` (no sign)          1.36
  Sharpness         factor ``1.8 M / 10 + 0.1`` (no sign)          1.36
  ShearX / ShearY   shear ``± 0.3 M / 10``                         ±0.21
  TranslateX / Y    offset ``± 10 M / 10`` pixels (absolute)       ±7 px
  Rotate            angle ``± 30 M / 10`` degrees                  ±21°
  Identity,         no parameter
  AutoContrast,
  Equalize
  ================  =============================================  ==========

* Geometric ops warp with bilinear interpolation and fill uncovered pixels
  with grey (128, 128, 128); the rotation is about the point ``(W/2, H/2)``.
* AutoContrast stretches each channel's [min, max] to [0, 255] (cutoff 0),
  Equalize is PIL's per-channel histogram equalisation, Brightness scales
  every value by the factor (``floor``, clipped to 255), Sharpness blends
  the image with PIL's 3x3 smoothing kernel (centre 5, others 1, /13) as
  ``blur + factor * (img - blur)`` on the interior pixels only (the
  one-pixel border is left unchanged, as in the release).

Deliberate differences (docs/methods/pir.md#11-pir-itr-settings):

* the release casts the sharpened float image to ``uint8`` without clipping
  (values above 255 or below 0 wrap around, platform-dependent); we clip to
  [0, 255] as PIL does;
* AutoContrast (``autocontrast='stretch'``, default) is the contrast
  stretch the op names, per channel
  :math:`v \mapsto 255\,(v - \min)/(\max - \min)` (PIL's
  ``ImageOps.autocontrast``).  The release computes the offset of that
  stretch as ``-low * scale`` with ``low`` the channel minimum *as a numpy
  uint8* (``dataset/randaugment.py``, ``autocontrast_func``, in the three
  files above), so ``-low`` wraps to ``256 - low``: every channel
  whose minimum is above 0 maps to 255 (white), a channel with minimum 0 is
  stretched normally.  ``autocontrast='released'`` reproduces that
  arithmetic exactly.

The ops are channel-wise or colour-agnostic, so they act identically on the
BGR arrays of the sdtr pipeline.  Randomness comes from NumPy's global
generator (seeded per dataloader worker by mmengine), like the other mmcv
transforms.
"""
import math
from typing import List, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from sdtr.registry import TRANSFORMS

#: the op list PIR-ITR (and ALBEF/X-VLM fine-tuning) use
PIR_OPS = ('Identity', 'AutoContrast', 'Equalize', 'Brightness', 'Sharpness',
           'ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate')
_SIGNED = ('ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate')
_SHARPNESS_KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]],
                             dtype=np.float32) / 13.0


def _sharpness(img: np.ndarray, factor: float) -> np.ndarray:
    """``blur + factor * (img - blur)`` on the interior (border kept)."""
    blur = cv2.filter2D(img, -1, _SHARPNESS_KERNEL)
    out = img.copy()
    inner = (slice(1, -1), slice(1, -1))
    mixed = blur[inner].astype(np.float32) + factor * (
        img[inner].astype(np.float32) - blur[inner].astype(np.float32))
    out[inner] = np.clip(mixed, 0, 255).astype(np.uint8)
    return out


def _released_autocontrast(img: np.ndarray) -> np.ndarray:
    """The release's AutoContrast (cutoff 0), uint8 wrap included: per
    channel, ``table = arange(256) * scale + ((-low) mod 256) * scale``
    clipped to [0, 255], with ``scale = 255 / (high - low)``; a constant
    channel is kept."""
    out = np.empty_like(img)
    for c in range(img.shape[2]):
        ch = img[..., c]
        low, high = int(ch.min()), int(ch.max())
        if high <= low:
            out[..., c] = ch
            continue
        scale = 255.0 / (high - low)
        offset = ((-low) % 256) * scale  # -np.uint8(low) wraps to 256 - low
        table = np.clip(np.arange(256) * scale + offset, 0, 255)
        out[..., c] = table.astype(np.uint8)[ch]
    return out


@TRANSFORMS.register_module()
class RandomAugment(BaseTransform):
    """ALBEF / X-VLM / PIR ``RandomAugment`` (see the module doc).

    Not mmpretrain's ``RandAugment``: that one draws magnitudes and signs
    for photometric ops too and scales translations with the image size.

    Args:
        num_ops (int): ops drawn per image, with replacement (N = 2).
        magnitude (int | float): level M of every op (7 in PIR).
        max_level (int | float): level of the largest magnitude (10).
        ops (Sequence[str]): op names to draw from (default
            :data:`PIR_OPS`).
        prob (float): probability of applying each drawn op (0.5).
        translate_const (float): translation in pixels at ``max_level``
            (10; absolute, whatever the image size).
        fill (int): grey level of pixels uncovered by geometric ops (128).
        autocontrast (str): ``'stretch'`` (the contrast stretch, default) or
            ``'released'`` (the release's uint8-negation wrap, see the
            module doc).

    Required keys: ``img`` (HxWx3 uint8). Modified keys: ``img``.
    Added keys: ``random_augment`` (the applied ``(op, parameter)`` list).
    """

    OPS = PIR_OPS

    def __init__(self,
                 num_ops: int = 2,
                 magnitude: float = 7,
                 max_level: float = 10,
                 ops: Sequence[str] = PIR_OPS,
                 prob: float = 0.5,
                 translate_const: float = 10,
                 fill: int = 128,
                 autocontrast: str = 'stretch'):
        unknown = sorted(set(ops) - set(self.OPS))
        if unknown:
            raise ValueError(f'RandomAugment: unknown ops {unknown}; '
                             f'available: {list(self.OPS)}')
        if not ops:
            raise ValueError('RandomAugment: ops is empty')
        if int(num_ops) != num_ops or num_ops < 0:
            raise ValueError(f'num_ops must be a non-negative integer, got '
                             f'{num_ops}')
        if max_level <= 0 or not 0 <= magnitude <= max_level:
            raise ValueError(f'magnitude must lie in [0, max_level], got '
                             f'{magnitude} of {max_level}')
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        if not 0 <= int(fill) <= 255:
            raise ValueError(f'fill must be a grey level 0-255, got {fill}')
        if autocontrast not in ('stretch', 'released'):
            raise ValueError(f"autocontrast must be 'stretch' or 'released',"
                             f' got {autocontrast!r}')
        self.autocontrast = autocontrast
        self.num_ops = int(num_ops)
        self.magnitude = magnitude
        self.max_level = max_level
        self.ops = tuple(ops)
        self.prob = float(prob)
        self.translate_const = float(translate_const)
        self.fill = int(fill)

    # ----------------------------------------------------------- magnitudes
    def parameter(self, op: str) -> float:
        """Unsigned parameter of ``op`` at level ``magnitude``."""
        level = self.magnitude / self.max_level
        if op in ('Brightness', 'Sharpness'):
            return level * 1.8 + 0.1
        if op in ('ShearX', 'ShearY'):
            return level * 0.3
        if op in ('TranslateX', 'TranslateY'):
            return level * self.translate_const
        if op == 'Rotate':
            return level * 30.0
        return 0.0

    @cache_randomness
    def sample_ops(self) -> List[Tuple[str, float]]:
        """Draw the ops applied to one image, with their signed parameter.

        Returns:
            list[tuple[str, float]]: ``(op, parameter)`` in application order
            (ops that lost their ``prob`` draw are left out).
        """
        names = np.random.choice(self.ops, self.num_ops)
        applied = []
        for name in names.tolist():
            if np.random.random() >= self.prob:
                continue
            value = self.parameter(name)
            if name in _SIGNED and np.random.random() < 0.5:
                value = -value
            applied.append((name, value))
        return applied

    # -------------------------------------------------------------- ops
    def apply_op(self, img: np.ndarray, op: str, value: float) -> np.ndarray:
        """Apply one op with its (signed) parameter to a uint8 image."""
        if img.dtype != np.uint8 or img.ndim != 3:
            raise TypeError('RandomAugment works on HxWxC uint8 images, got '
                            f'{img.dtype} {img.shape}')
        border = (self.fill, ) * 3
        if op == 'Identity':
            return img
        if op == 'AutoContrast':
            if self.autocontrast == 'released':
                return _released_autocontrast(img)
            return mmcv.auto_contrast(img, cutoff=0)
        if op == 'Equalize':
            return mmcv.imequalize(img)
        if op == 'Brightness':
            return mmcv.adjust_brightness(img, value, backend='cv2')
        if op == 'Sharpness':
            return _sharpness(img, value)
        if op in ('ShearX', 'ShearY'):
            direction = 'horizontal' if op == 'ShearX' else 'vertical'
            return mmcv.imshear(img, value, direction, border_value=border)
        if op in ('TranslateX', 'TranslateY'):
            direction = 'horizontal' if op == 'TranslateX' else 'vertical'
            return mmcv.imtranslate(img, value, direction,
                                    border_value=border)
        if op == 'Rotate':
            h, w = img.shape[:2]
            matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), value, 1.0)
            return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT,
                                  borderValue=border)
        raise ValueError(f'unknown op {op!r}')

    def transform(self, results: dict) -> dict:
        img = results['img']
        applied = self.sample_ops()
        for op, value in applied:
            img = self.apply_op(img, op, value)
        results['img'] = img
        results['random_augment'] = applied
        return results

    def __repr__(self) -> str:
        params = ', '.join(
            f'{op}={self.parameter(op):g}' for op in self.ops
            if not math.isclose(self.parameter(op), 0.0))
        return (f'{type(self).__name__}(num_ops={self.num_ops}, magnitude='
                f'{self.magnitude}/{self.max_level}, prob={self.prob}, '
                f'ops={list(self.ops)}, {params}, '
                f'autocontrast={self.autocontrast!r})')
