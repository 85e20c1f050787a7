"""Visual-token targets of Image KLR from mmpretrain's DALL-E encoder.

EKLSR eq. 17 needs a label :math:`y_i^v` for every masked patch: "we
tokenize image segments using the image tokenizer of BEiT".  BEiT (v1)'s
tokenizer is the DALL-E discrete-VAE encoder (8192 codes, a conv net of
stride 8), which mmpretrain 1.2.0 ships as ``DALLEEncoder``
(``mmpretrain/models/selfsup/cae.py``, registered there as ``'DALL-E'``).
This module wraps it as a frozen target generator:

.. math::

    y^v = \\arg\\max_c\\, \\mathrm{DALLE}(\\mathrm{map}(x_{\\downarrow}))_c
    \\in \\{0..V-1\\}^{h \\times w}

where :math:`x_{\\downarrow}` is the image (as the ViT sees it, un-normalised
to [0, 1]) resized to ``(8h, 8w)`` for the ViT patch grid ``(h, w)`` (e.g.
112x112 for 224 / patch 16, as BEiT's second view; 192x64 for IRRA's 384x128
person crops, a 24x8 grid: the conv encoder works on non-square inputs,
unlike BEiT v2's VQ-KD whose ``encode`` assumes a square grid), and
:math:`\\mathrm{map}(x) = (1 - 2\\epsilon) x + \\epsilon` with
:math:`\\epsilon = 0.1` is DALL-E's logit-Laplace input mapping (mmpretrain's
BEiT configs write it as mean -31.875 / std 318.75 on 0-255 pixels).  The
grid of codes is read in row-major order, the order of the ViT's patches.

The official weights are a download (``pretrained=dict(checkpoint=URL)``,
read in :meth:`init_weights`, strictly); tests and tiny configs use a
randomly initialised (small) encoder, whose codes are still a fixed function
of the image.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from sdtr.registry import MODELS
from sdtr.checkpoint import PretrainedMixin

CLIP_MEAN = (0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255)
CLIP_STD = (0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255)

DALLE_ENCODER_URL = ('https://download.openmmlab.com/mmselfsup/1.x/'
                     'target_generator_ckpt/dalle_encoder.pth')


@MODELS.register_module()
class DALLETargetGenerator(PretrainedMixin, BaseModule):
    """Frozen DALL-E encoder giving one visual token per ViT patch.

    Args:
        group_count (int): DALL-E groups (4; the encoder stride is
            ``2 ** (group_count - 1)`` = 8).
        n_hid (int): hidden width (256 for the official weights).
        n_blk_per_group (int): blocks per group (2 official).
        vocab_size (int): number of codes (8192 official).
        mean (Sequence[float]): per-channel mean (0-255, RGB) the data
            preprocessor subtracted; default CLIP's.
        std (Sequence[float]): per-channel std (0-255, RGB); default CLIP's.
        logit_laplace_eps (float): :math:`\\epsilon` of DALL-E's input map.
        interpolation (str): resize mode to the encoder input
            (``'bicubic'``; BEiT's second view uses Lanczos on PIL images).
        pretrained (str | dict, optional): ``dict(checkpoint=<path or URL>,
            prefix=None, check_hash=False, ...)`` loaded strictly into the
            encoder in :meth:`init_weights` (no key conversion: mmpretrain's
            ``DALLEEncoder`` names).
        init_cfg (dict, optional): mmengine init config.

    Forward:
        images (Tensor): ``[B, 3, H, W]`` normalised RGB images (the model
            input).
        grid_size (tuple[int, int]): the ViT patch grid ``(h, w)``.

    Returns:
        LongTensor: ``[B, h * w]`` code ids in row-major order.
    """

    def __init__(self,
                 group_count: int = 4,
                 n_hid: int = 256,
                 n_blk_per_group: int = 2,
                 vocab_size: int = 8192,
                 mean: Sequence[float] = CLIP_MEAN,
                 std: Sequence[float] = CLIP_STD,
                 logit_laplace_eps: float = 0.1,
                 interpolation: str = 'bicubic',
                 pretrained: Union[str, dict, None] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from mmpretrain.models.selfsup.cae import DALLEEncoder
        if group_count < 1:
            raise ValueError(f'group_count must be >= 1, got {group_count}')
        self.encoder = DALLEEncoder(
            group_count=group_count,
            n_hid=n_hid,
            n_blk_per_group=n_blk_per_group,
            vocab_size=vocab_size,
            requires_grad=False)
        self.encoder.requires_grad_(False)
        self.stride = 2**(group_count - 1)
        self.vocab_size = int(vocab_size)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError('mean and std need 3 (RGB) values')
        self.register_buffer(
            'mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1),
            persistent=False)
        self.register_buffer(
            'std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1),
            persistent=False)
        self.eps = float(logit_laplace_eps)
        self.interpolation = interpolation
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)

    def train(self, mode: bool = True):
        """The tokenizer is frozen: always in eval mode."""
        super().train(False)
        return self

    def pretrained_target(self) -> torch.nn.Module:
        return self.encoder

    def input_size(self, grid_size: Tuple[int, int]) -> Tuple[int, int]:
        """Encoder input size ``(stride * h, stride * w)``."""
        return (self.stride * int(grid_size[0]),
                self.stride * int(grid_size[1]))

    def prepare(self, images: torch.Tensor,
                grid_size: Tuple[int, int]) -> torch.Tensor:
        """Un-normalise, resize and map the pixels for DALL-E."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError('DALLETargetGenerator expects [B, 3, H, W] '
                             f'images, got {tuple(images.shape)}')
        x = images.float() * self.std + self.mean
        x = (x / 255.).clamp(0., 1.)
        size = self.input_size(grid_size)
        if tuple(x.shape[-2:]) != size:
            kwargs = dict(align_corners=False) if self.interpolation in (
                'bilinear', 'bicubic') else {}
            x = F.interpolate(x, size=size, mode=self.interpolation,
                              **kwargs).clamp(0., 1.)
        return (1. - 2. * self.eps) * x + self.eps

    @torch.no_grad()
    def forward(self, images: torch.Tensor,
                grid_size: Tuple[int, int]) -> torch.Tensor:
        logits = self.encoder(self.prepare(images, grid_size))
        h, w = int(grid_size[0]), int(grid_size[1])
        if tuple(logits.shape[-2:]) != (h, w):
            raise RuntimeError(f'DALL-E produced a {tuple(logits.shape[-2:])} '
                               f'code grid, expected the ViT grid {(h, w)}')
        return logits.argmax(dim=1).flatten(1)
