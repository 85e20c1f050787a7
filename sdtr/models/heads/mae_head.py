"""MAE-style reconstruction head without text (the "MAE" variant that
VFE-TPS compares TG-MIM with, §4.5.3, Fig. 5/6; He et al., CVPR 2022).

MAE's encoder sees only the visible patches (``PatchMaskGenerator`` in
``mode='drop'``; the CLIP tower keeps the visible tokens after the position
embedding).  The decoder embeds them linearly, puts a learnable mask token at
every masked position (restoring the full ``h x w`` grid), adds fixed 2-D
sine-cosine position embeddings (built for the actual grid, so 24x8 works),
runs a few transformer blocks and predicts the :math:`P^2 \\cdot 3` pixels
of every patch:

.. math::

    u &= [\\,W_e v^v_{cls};\\; \\mathrm{unshuffle}(W_e v^v_{vis}, m)\\,]
         + E^{sincos} \\\\
    Y &= \\mathrm{unpatchify}(W_p\\,\\mathrm{LN}(\\mathrm{Transformer}(u))
         _{1..N})

The loss is computed on masked pixels only; the default criterion is MAE's
L2 (``loss=dict(criterion='L1')`` gives TG-MIM's eq. 3 for a like-for-like
comparison).  MAE's per-patch target normalisation (``norm_pix``) is not
implemented: the paper compares methods that predict raw pixels.
"""
from typing import Optional, Sequence

import torch
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from open_clip.transformer import LayerNorm, Transformer
from torch import nn

from sdtr.registry import MODELS
from .base_mim_head import BaseMIMHead


@MODELS.register_module()
class MAEHead(BaseMIMHead):
    """Lightweight MAE pixel decoder over visible-patch encoder tokens.

    Args:
        visual_dim (int): width of the encoder tokens.
        patch_size (int): model patch size P.
        text_dim (int, optional): unused (signature parity with TG-MIM).
        decoder_embed_dims (int): decoder width (512 as MAE).
        num_layers (int): decoder blocks (4 here, like TG-MIM's 4 layers;
            MAE uses 8).
        num_heads (int): decoder heads.
        loss (dict): pixel loss config (masked-pixel L2).
        loss_weight (float): multiplier of the loss.
        init_cfg (dict, optional): mmengine init config.
    """

    requires_visible_only = True

    def __init__(self,
                 visual_dim: int = 512,
                 patch_size: int = 16,
                 text_dim: Optional[int] = None,
                 decoder_embed_dims: int = 512,
                 num_layers: int = 4,
                 num_heads: int = 8,
                 loss: dict = dict(
                     type='mmpretrain.PixelReconstructionLoss',
                     criterion='L2',
                     channel=3),
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(visual_dim, patch_size, loss, loss_weight, init_cfg)
        self.decoder_embed_dims = decoder_embed_dims
        self.decoder_embed = nn.Linear(visual_dim, decoder_embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dims))
        self.decoder = Transformer(decoder_embed_dims, num_layers, num_heads)
        self.norm = LayerNorm(decoder_embed_dims)
        self.pred = nn.Linear(decoder_embed_dims, patch_size**2 * 3)

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.normal_(self.mask_token, std=0.02)
        for m in (self.decoder_embed, self.pred):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self,
                visual_tokens: torch.Tensor,
                grid_size: Sequence[int],
                text_tokens: Optional[torch.Tensor] = None,
                text_mask: Optional[torch.Tensor] = None,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Reconstruct all pixels.

        Args:
            visual_tokens (Tensor): ``[B, 1 + K, C]``: class token + the K
                visible patches (ascending patch order).
            grid_size (tuple[int, int]): patch grid ``(h, w)``.
            mask (BoolTensor): ``[B, h, w]`` patch mask, True = masked.

        Returns:
            Tensor: ``[B, 3, h*P, w*P]``.
        """
        if mask is None:
            raise ValueError('MAEHead needs the patch mask')
        h, w = int(grid_size[0]), int(grid_size[1])
        B, T, C = visual_tokens.shape
        flat = mask.flatten(1).to(visual_tokens.device)
        if flat.shape[1] != h * w:
            raise ValueError(f'mask has {flat.shape[1]} patches, grid is '
                             f'{h}x{w}')
        visible = ~flat
        if C != self.visual_dim or (visible.sum(1) != T - 1).any():
            raise ValueError(
                f'visual tokens {tuple(visual_tokens.shape)} must be 1 class '
                f'token + the visible patches (width {self.visual_dim}); run '
                "the encoder with PatchMaskGenerator mode='drop'")
        x = self.decoder_embed(visual_tokens)
        full = self.mask_token.to(x.dtype).expand(B, h * w, -1).clone()
        full[visible] = x[:, 1:].reshape(-1, x.shape[-1])
        x = torch.cat([x[:, :1], full], dim=1)
        pos = build_2d_sincos_position_embedding(
            (h, w), self.decoder_embed_dims, cls_token=True)
        x = self.decoder(x + pos.to(x))
        x = self.pred(self.norm(x))[:, 1:]  # [B, N, P*P*3]
        P = self.patch_size
        x = x.reshape(B, h, w, P, P, 3).permute(0, 5, 1, 3, 2, 4)
        return x.reshape(B, 3, h * P, w * P)
