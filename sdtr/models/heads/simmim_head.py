"""SimMIM-style reconstruction head without text (the "SimMIM" variant that
VFE-TPS compares TG-MIM with, §4.5.3, Fig. 3a/5/6; Xie et al., CVPR 2022).

SimMIM predicts the raw pixels of the masked patches from the image encoder's
own patch tokens with a linear decoder only:

.. math::

    Y = \\mathrm{PixelShuffle}_P(\\mathrm{Conv}_{1\\times1}(v^v_{1..N})),
    \\qquad \\mathcal{L} = \\frac{\\sum |Y - X| \\odot M}{3\\sum M}

(the same masked-pixel L1 as TG-MIM's eq. 3).  No cross-modal interaction and
no extra transformer: everything the prediction needs must come from the
encoder, so the comparison with :class:`TGMIMHead` isolates the text
guidance.  The call signature matches :class:`TGMIMHead`; text inputs are
accepted and ignored.
"""
from typing import Optional, Sequence

import torch
from mmpretrain.models.necks import SimMIMLinearDecoder
from torch import nn

from sdtr.registry import MODELS
from .base_mim_head import BaseMIMHead


@MODELS.register_module()
class SimMIMHead(BaseMIMHead):
    """Linear pixel decoder on the encoder's patch tokens.

    Args:
        visual_dim (int): width of the image tokens (CLIP embed dim).
        patch_size (int): model patch size P.
        text_dim (int, optional): unused (signature parity with TG-MIM).
        num_prefix_tokens (int): leading non-patch tokens (1).
        loss (dict): pixel loss config (masked-pixel L1).
        loss_weight (float): multiplier of the loss.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 visual_dim: int = 512,
                 patch_size: int = 16,
                 text_dim: Optional[int] = None,
                 num_prefix_tokens: int = 1,
                 loss: dict = dict(
                     type='mmpretrain.PixelReconstructionLoss',
                     criterion='L1',
                     channel=3),
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(visual_dim, patch_size, loss, loss_weight, init_cfg)
        self.num_prefix_tokens = num_prefix_tokens
        self.decoder = SimMIMLinearDecoder(visual_dim, patch_size)

    def init_weights(self) -> None:
        super().init_weights()
        conv = self.decoder.decoder[0]
        nn.init.xavier_uniform_(conv.weight)
        nn.init.zeros_(conv.bias)

    def forward(self,
                visual_tokens: torch.Tensor,
                grid_size: Sequence[int],
                text_tokens: Optional[torch.Tensor] = None,
                text_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``[B, prefix + h*w, C]`` -> ``[B, 3, h*P, w*P]``."""
        h, w = int(grid_size[0]), int(grid_size[1])
        B, T, C = visual_tokens.shape
        if C != self.visual_dim or T != self.num_prefix_tokens + h * w:
            raise ValueError(
                f'visual tokens {tuple(visual_tokens.shape)} do not match '
                f'{self.num_prefix_tokens} prefix + {h}x{w} patches of width '
                f'{self.visual_dim}')
        x = visual_tokens[:, self.num_prefix_tokens:]
        return self.decoder(x.transpose(1, 2).reshape(B, C, h, w))
