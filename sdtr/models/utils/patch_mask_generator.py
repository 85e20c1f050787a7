"""Patch-level random masking for masked image modelling (VFE-TPS TG-MIM).

VFE-TPS §3.2.1 ("Randomly masking image regions", Algorithm 1 line 3)
follows SimMIM (Xie et al., CVPR 2022): the image is cut into square *mask
patches* of side ``mask_patch_size`` (a multiple of the model's patch size
``P``); a fraction ``mask_ratio`` of them, ``ceil(n * mask_ratio)`` out of
``n``, is drawn uniformly without replacement per image; the mask is then
expanded to the model's ``P x P`` patch grid.  For a ``H x W`` input the
model grid is ``(H/P) x (W/P)`` (24x8 for 384x128 and P=16); any size whose
sides are multiples of ``mask_patch_size`` works, square or not.

Three ways to hide the selected patches (``mode``):

* ``'pixel'`` (VFE-TPS paper, §3.2.1: "setting pixel values within these
  patches to zero"): :meth:`mask_images` writes ``fill_value`` (0) into the
  masked pixels of the image the encoder sees.  sdtr masks the *normalised*
  image (after the data preprocessor), so 0 is the dataset mean colour;
* ``'token'`` (released VFE-TPS code and SimMIM): :meth:`mask_tokens`
  replaces masked patch embeddings by a learnable mask token,
  :math:`\\tilde x = x (1 - w) + m\\,w`;
* ``'drop'`` (MAE, He et al., CVPR 2022): masked patches are removed before
  the encoder; :meth:`visible_index` gives the kept patch indices.

The paper finds mask ratios of 0.5-0.6 best (Fig. 6a); the released code
uses mask patches of 32 pixels and ratio 0.6.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn

from sdtr.registry import MODELS

MODES = ('pixel', 'token', 'drop')


def _pair(size) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    size = tuple(int(s) for s in size)
    if len(size) != 2:
        raise ValueError(f'expected an int or (H, W), got {size}')
    return size


@MODELS.register_module()
class PatchMaskGenerator(nn.Module):
    """SimMIM-style random patch masking with three hiding modes.

    Args:
        mask_ratio (float): fraction of mask patches hidden, in (0, 1)
            (paper best 0.5-0.6; released 0.6).
        mask_patch_size (int): side of a mask patch in pixels; a multiple of
            the model patch size (released: 32 with ViT-B/16).
        mode (str): ``'pixel'`` (paper), ``'token'`` (released) or ``'drop'``
            (MAE-style encoder on visible patches only).
        fill_value (float): value written into masked pixels in ``'pixel'``
            mode (0 on the normalised image).
        token_dim (int, optional): width of the learnable mask token
            (required in ``'token'`` mode; a retriever fills it with the
            image tower's width).
    """

    def __init__(self,
                 mask_ratio: float = 0.6,
                 mask_patch_size: int = 32,
                 mode: str = 'pixel',
                 fill_value: float = 0.0,
                 token_dim: Optional[int] = None):
        super().__init__()
        if not 0.0 < float(mask_ratio) < 1.0:
            raise ValueError(f'mask_ratio must lie in (0, 1), got '
                             f'{mask_ratio}')
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if int(mask_patch_size) <= 0:
            raise ValueError(f'mask_patch_size must be positive, got '
                             f'{mask_patch_size}')
        self.mask_ratio = float(mask_ratio)
        self.mask_patch_size = int(mask_patch_size)
        self.mode = mode
        self.fill_value = float(fill_value)
        self.token_dim = token_dim
        if mode == 'token':
            if token_dim is None:
                raise ValueError("mode='token' needs token_dim (the width of "
                                 'the patch embeddings)')
            self.mask_token = nn.Parameter(torch.zeros(1, 1, int(token_dim)))
            nn.init.trunc_normal_(self.mask_token, std=0.02)

    # ------------------------------------------------------------- masks
    def grid_shapes(self, image_size: Union[int, Sequence[int]],
                    patch_size: int) -> Tuple[Tuple[int, int], int]:
        """``((mask grid h, w), scale)`` for an image and model patch size.

        Raises:
            ValueError: when ``mask_patch_size`` is not a multiple of
                ``patch_size`` or the image is not divisible into mask
                patches.
        """
        H, W = _pair(image_size)
        if self.mask_patch_size % patch_size:
            raise ValueError(
                f'mask_patch_size {self.mask_patch_size} must be a multiple '
                f'of the model patch size {patch_size}')
        if H % self.mask_patch_size or W % self.mask_patch_size:
            raise ValueError(
                f'image size {(H, W)} is not divisible by mask_patch_size '
                f'{self.mask_patch_size}')
        return ((H // self.mask_patch_size, W // self.mask_patch_size),
                self.mask_patch_size // patch_size)

    def num_masked(self, image_size, patch_size: int) -> int:
        """Number of hidden mask patches, ``ceil(n * mask_ratio)``."""
        (h, w), _ = self.grid_shapes(image_size, patch_size)
        return int(math.ceil(h * w * self.mask_ratio))

    def generate(self,
                 batch_size: int,
                 image_size: Union[int, Sequence[int]],
                 patch_size: int,
                 device=None,
                 generator: Optional[torch.Generator] = None
                 ) -> torch.Tensor:
        """Random masks on the model patch grid.

        Returns:
            BoolTensor: ``[B, H/P, W/P]``, True = masked; every image has
            exactly ``num_masked * scale**2`` masked model patches, grouped in
            aligned ``mask_patch_size`` squares.
        """
        (h, w), scale = self.grid_shapes(image_size, patch_size)
        n, k = h * w, self.num_masked(image_size, patch_size)
        scores = torch.rand(batch_size, n, generator=generator)
        order = scores.argsort(dim=1)[:, :k]
        coarse = torch.zeros(batch_size, n, dtype=torch.bool)
        coarse.scatter_(1, order, True)
        coarse = coarse.view(batch_size, h, w)
        mask = coarse.repeat_interleave(scale, dim=1).repeat_interleave(
            scale, dim=2)
        return mask.to(device) if device is not None else mask

    @staticmethod
    def pixel_mask(mask: torch.Tensor, patch_size: int) -> torch.Tensor:
        """Patch mask ``[B, h, w]`` -> pixel mask ``[B, 1, hP, wP]``
        (float, 1 = masked)."""
        return mask.float().repeat_interleave(
            patch_size, dim=1).repeat_interleave(patch_size,
                                                 dim=2).unsqueeze(1)

    # -------------------------------------------------------------- apply
    def mask_images(self, images: torch.Tensor, mask: torch.Tensor,
                    patch_size: int) -> torch.Tensor:
        """``'pixel'`` mode: set the masked pixels to ``fill_value``."""
        pm = self.pixel_mask(mask, patch_size).to(images.dtype)
        if pm.shape[-2:] != images.shape[-2:]:
            raise ValueError(f'mask covers {tuple(pm.shape[-2:])} pixels, '
                             f'images are {tuple(images.shape[-2:])}')
        return images * (1 - pm) + self.fill_value * pm

    def mask_tokens(self, tokens: torch.Tensor,
                    mask: torch.Tensor) -> torch.Tensor:
        """``'token'`` mode: :math:`x (1 - w) + m\\,w` on ``[B, N, C]``
        patch embeddings (N = flattened mask grid, row-major)."""
        if not hasattr(self, 'mask_token'):
            raise RuntimeError("mask_tokens needs mode='token'")
        w = mask.flatten(1).unsqueeze(-1).to(tokens.dtype)
        if w.shape[1] != tokens.shape[1]:
            raise ValueError(f'mask has {w.shape[1]} patches, tokens '
                             f'{tokens.shape[1]}')
        return tokens * (1 - w) + self.mask_token.to(tokens.dtype) * w

    @staticmethod
    def visible_index(mask: torch.Tensor) -> torch.Tensor:
        """``'drop'`` mode: ``[B, K]`` indices of the visible patches
        (ascending; every row has the same K by construction)."""
        flat = ~mask.flatten(1)
        counts = flat.sum(dim=1)
        if (counts != counts[0]).any():
            raise ValueError('every image must keep the same number of '
                             'patches')
        return flat.nonzero()[:, 1].view(mask.shape[0], int(counts[0]))

    def extra_repr(self) -> str:
        return (f'mask_ratio={self.mask_ratio}, mask_patch_size='
                f'{self.mask_patch_size}, mode={self.mode!r}')
