"""Image normalisation for retrieval models, on the model's device.

Pipelines end in ``PackRetrievalInputs`` with uint8 BGR images (as cv2
decodes them).  This preprocessor moves the batch to the model's device as
uint8, converts BGR to RGB and normalises there

.. math::  x' = (x_{rgb} - \\mu) / \\sigma

with CLIP's statistics on the 0-255 scale (OpenAI:
mean (0.48145466, 0.4578275, 0.40821073) and std (0.26862954, 0.26130258,
0.27577711), times 255).  ``data_samples`` (which carry the captions) are
passed through untouched: captions are tokenised inside the model.

How the batch gets there (docs/training.md#speed):

* the train dataloaders of the configs stack the images in the worker
  processes (``collate_fn=dict(type='default_collate')``) and pin them
  (``pin_memory=True`` on GPUs), so the main process receives one
  ``[B, 3, H, W]`` uint8 tensor and copies it with ``non_blocking=True``;
* a list of equally sized images (mmengine's ``pseudo_collate``, the
  default of the val/test loaders) is stacked on the host first (into
  pinned memory when the model is on a GPU), then copied once;
* on the device: the channel flip is one index operation on uint8, the
  subtraction of the mean converts to float32 in the same kernel, and the
  division by the std happens in place.  The values are exactly those of
  mmengine's per-sample ``ImgDataPreprocessor`` (same operations in the
  same order, in float32).

Lists of images of different sizes take mmengine's per-sample path (and are
padded to a common size as there).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor

from sdtr.registry import MODELS

CLIP_MEAN = (122.770938, 116.7460125, 104.09373615)
CLIP_STD = (68.5005327, 66.6321579, 70.32316305)


@MODELS.register_module()
class RetrievalDataPreprocessor(ImgDataPreprocessor):
    """mmengine ``ImgDataPreprocessor`` with CLIP defaults, batched.

    Args:
        mean (Sequence[float]): per-channel mean, RGB order, 0-255 scale.
        std (Sequence[float]): per-channel std, RGB order, 0-255 scale.
        pad_size_divisor (int): pad H and W to a multiple of this (1).
        pad_value (float): padding value.
        bgr_to_rgb (bool): flip BGR (cv2) to RGB (True).
        rgb_to_bgr (bool): flip RGB to BGR (False).
        non_blocking (bool): non-blocking host-to-device copies (True; they
            overlap with computation when the batch is in pinned memory).
    """

    def __init__(self,
                 mean: Optional[Sequence[Union[float, int]]] = CLIP_MEAN,
                 std: Optional[Sequence[Union[float, int]]] = CLIP_STD,
                 pad_size_divisor: int = 1,
                 pad_value: Union[float, int] = 0,
                 bgr_to_rgb: bool = True,
                 rgb_to_bgr: bool = False,
                 non_blocking: Optional[bool] = True):
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            rgb_to_bgr=rgb_to_bgr,
            non_blocking=non_blocking)

    def forward(self, data: dict, training: bool = False) -> dict:
        """``dict(inputs=uint8 [B,3,H,W] or list of [3,H,W], data_samples)``
        -> ``dict(inputs=float32 [B,3,H,W] on the device, data_samples)``.
        """
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            if not inputs or not all(
                    isinstance(x, torch.Tensor) for x in inputs) or len(
                        {(x.shape, x.dtype) for x in inputs}) != 1:
                return super().forward(data, training)
            inputs = self._stack_on_host(inputs)
        elif not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
            return super().forward(data, training)
        out = {k: v for k, v in data.items()
               if k not in ('inputs', 'data_samples')}
        out = self.cast_data(out) if out else {}
        out['inputs'] = self.normalize(
            inputs.to(self.device, non_blocking=self._non_blocking))
        out['data_samples'] = self._samples_to_device(
            data.get('data_samples'))
        return out

    def normalize(self, batch: torch.Tensor) -> torch.Tensor:
        """Flip channels, convert to float and normalise ``[B, C, H, W]``
        (already on the device)."""
        if self._enable_normalize and self.mean.shape[0] == 3 and \
                batch.shape[1] != 3:
            raise ValueError('RetrievalDataPreprocessor: the mean has 3 '
                             'values, so the images must have 3 channels; '
                             f'got a batch of shape {tuple(batch.shape)}')
        if self._channel_conversion:
            batch = batch[:, [2, 1, 0]]
        if self._enable_normalize:
            # uint8 - float32 -> float32 in one kernel, then in place
            batch = torch.sub(batch, self.mean).div_(self.std)
        else:
            batch = batch.float()
        if self.pad_size_divisor > 1:
            h, w = batch.shape[-2:]
            pad_h = -h % self.pad_size_divisor
            pad_w = -w % self.pad_size_divisor
            if pad_h or pad_w:
                batch = F.pad(batch, (0, pad_w, 0, pad_h), 'constant',
                              self.pad_value)
        return batch

    def _stack_on_host(self, images: Sequence[torch.Tensor]) -> torch.Tensor:
        first = images[0]
        if first.device.type != 'cpu':
            return torch.stack(list(images))
        pin = self.device.type == 'cuda'
        batch = torch.empty((len(images), ) + tuple(first.shape),
                            dtype=first.dtype, pin_memory=pin)
        return torch.stack(list(images), out=batch)

    def _samples_to_device(self, samples):
        """Data samples that only carry metainfo (captions, ids) stay as
        they are; samples with tensor fields are moved."""
        if samples is None or not isinstance(samples, (list, tuple)):
            return self.cast_data(samples)
        if all(not getattr(s, 'keys', lambda: ())() for s in samples):
            return samples
        return self.cast_data(samples)
