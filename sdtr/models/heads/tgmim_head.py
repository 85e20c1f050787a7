"""Text-guided masked image modelling head (VFE-TPS §3.2.1, eq. 1-3,
Algorithm 1).

Given the encoder tokens of the *masked* image
:math:`z^v = \\{f^v, v^v_1, \\dots, v^v_N\\}` and the token features of the
(clean) caption :math:`z^t`, the head computes

.. math::

    \\tilde z^v &= \\mathrm{MCA}(z^v, z^t, z^t)
        = [\\mathrm{head}_1, \\dots, \\mathrm{head}_H]\\, W^O
        \\qquad \\text{(eq. 1)} \\\\
    \\mathrm{head}_i &= \\mathrm{softmax}\\Big(
        \\frac{(z^v W^Q_i)(z^t W^K_i)^\\top}{\\sqrt{d}}\\Big) z^t W^V_i
        \\qquad \\text{(eq. 2)} \\\\
    Y &= \\mathrm{PixelShuffle}_P(\\mathrm{Conv}_{1\\times1}(
        \\mathrm{Transformer}_4(\\tilde z^v)_{1..N}))
        \\qquad \\text{(Algorithm 1, line 9)}

i.e. one multi-head cross-attention layer (masked-image tokens are the
queries, the caption's tokens the keys/values), four transformer encoder
layers, then a 1x1 convolution to :math:`P^2 \\cdot 3` channels and a pixel
shuffle back to the image size.  The loss is eq. 3, L1 on the masked patches
only: with the pixel mask :math:`M` (1 on masked pixels),

.. math::

    \\mathcal{L}_{TG\\text{-}MIM} = \\frac{\\sum |Y - X| \\odot M}
        {3 \\sum M}

which is the mean over masked patches of :math:`\\frac{1}{P^2}|Y_P-X_P|_1`
(averaged over the 3 colour channels, as SimMIM).  ``X`` is the image the
encoder saw before masking (normalised, after augmentation).

The layer layout follows the IRRA/VFE-TPS cross-former (LayerNorms before the
attention on both inputs and after the transformer; no residual around the
cross-attention, exactly eq. 1).  Switches:

* ``text_guided=False`` reproduces the released image-only variant
  (upstream: the text-guided call is commented out): the masked-image
  tokens are queries, keys and values;
* ``use_key_padding_mask`` (paper semantics, default True): padding text
  tokens are not attended; the released text-guided call passed all 77
  tokens without a mask (``False``);
* ``loss_weight``: 1 in the paper's eq. 10, 10 in the released code;
* ``act``: the transformer's MLP activation.  The paper does not name it;
  the released code builds these layers from CLIP's ``Transformer``, i.e.
  with QuickGELU (``x * sigmoid(1.702 x)``), the default here so that a
  converted VFE-TPS checkpoint (``tools/model_converters/vfe_tps_to_sdtr.py``)
  gives the released outputs; ``'gelu'`` is the exact GELU.

Works for any patch grid: the grid ``(h, w)`` is passed at call time (24x8
for 384x128 crops with P=16).
"""
from typing import Optional, Sequence

import torch
from mmpretrain.models.necks import SimMIMLinearDecoder
from open_clip.transformer import LayerNorm, Transformer
from torch import nn

from sdtr.registry import MODELS
from .base_mim_head import BaseMIMHead
from ..utils.clip_arch import ACTIVATIONS, act_layer


@MODELS.register_module()
class TGMIMHead(BaseMIMHead):
    """Cross-attention + transformer + pixel-shuffle reconstruction head.

    Args:
        visual_dim (int): width of the image tokens it receives (the CLIP
            embed dim, 512 for ViT-B/16).
        text_dim (int): width of the text tokens (512).
        patch_size (int): model patch size P (pixel-shuffle factor).
        embed_dims (int): width of the head (512 as the released code; the
            paper quotes d = 768).  Inputs of another width are linearly
            projected.
        num_heads (int): heads of the MCA layer and the transformer (8).
        num_layers (int): transformer encoder layers after MCA (4).
        text_guided (bool): keys/values from the caption (paper) or from the
            image itself (released code).
        use_key_padding_mask (bool): hide padding text tokens from the MCA.
        num_prefix_tokens (int): leading non-patch tokens in the visual
            input (1: the class token).
        in_channels (int): image channels to predict (3).
        loss (dict): pixel loss config; default L1 over masked pixels,
            averaged over channels (mmpretrain ``PixelReconstructionLoss``).
        loss_weight (float): multiplier of the loss (paper 1, released 10).
        act (str): MLP activation of the transformer layers,
            ``'quick_gelu'`` (released code, default) or ``'gelu'``.
        with_cp (bool): gradient checkpointing of the transformer layers
            (recompute them in the backward pass: less activation memory,
            same gradients), like the towers' ``with_cp``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 visual_dim: int = 512,
                 text_dim: int = 512,
                 patch_size: int = 16,
                 embed_dims: int = 512,
                 num_heads: int = 8,
                 num_layers: int = 4,
                 text_guided: bool = True,
                 use_key_padding_mask: bool = True,
                 num_prefix_tokens: int = 1,
                 in_channels: int = 3,
                 loss: dict = dict(
                     type='mmpretrain.PixelReconstructionLoss',
                     criterion='L1',
                     channel=3),
                 loss_weight: float = 1.0,
                 act: str = 'quick_gelu',
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(visual_dim, patch_size, loss, loss_weight, init_cfg)
        if act not in ACTIVATIONS:
            raise ValueError(f'TGMIMHead: act must be one of {ACTIVATIONS}, '
                             f'got {act!r}')
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims {embed_dims} is not divisible by '
                             f'num_heads {num_heads}')
        if in_channels != 3:
            raise ValueError('the pixel-shuffle decoder predicts 3 channels')
        self.text_dim = text_dim
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.text_guided = text_guided
        self.use_key_padding_mask = use_key_padding_mask
        self.num_prefix_tokens = num_prefix_tokens
        self.act = act

        self.visual_proj = nn.Identity() if visual_dim == embed_dims else \
            nn.Linear(visual_dim, embed_dims)
        self.text_proj = nn.Identity() if text_dim == embed_dims else \
            nn.Linear(text_dim, embed_dims)
        self.ln_pre_i = LayerNorm(embed_dims)
        self.ln_pre_t = LayerNorm(embed_dims)
        self.cross_attn = nn.MultiheadAttention(
            embed_dims, num_heads, batch_first=True)
        self.transformer = Transformer(
            width=embed_dims, layers=num_layers, heads=num_heads,
            act_layer=act_layer(act)) if num_layers > 0 else None
        self.with_cp = bool(with_cp)
        if self.transformer is not None:
            self.transformer.grad_checkpointing = self.with_cp
        self.ln_post = LayerNorm(embed_dims)
        self.decoder = SimMIMLinearDecoder(embed_dims, patch_size)

    def init_weights(self) -> None:
        """IRRA's cross-former init; xavier decoder with zero bias."""
        super().init_weights()
        width = self.embed_dims
        attn_std = width**-0.5
        proj_std = attn_std * (2 * max(self.num_layers, 1))**-0.5
        fc_std = (2 * width)**-0.5
        nn.init.normal_(self.cross_attn.in_proj_weight, std=attn_std)
        nn.init.normal_(self.cross_attn.out_proj.weight, std=proj_std)
        if self.transformer is not None:
            for block in self.transformer.resblocks:
                nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        conv = self.decoder.decoder[0]
        nn.init.xavier_uniform_(conv.weight)
        nn.init.zeros_(conv.bias)

    def forward(self,
                visual_tokens: torch.Tensor,
                grid_size: Sequence[int],
                text_tokens: Optional[torch.Tensor] = None,
                text_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Reconstruct the image.

        Args:
            visual_tokens (Tensor): ``[B, prefix + N, visual_dim]`` encoder
                tokens of the masked image.
            grid_size (tuple[int, int]): patch grid ``(h, w)``, ``h*w = N``.
            text_tokens (Tensor, optional): ``[B, L, text_dim]`` caption
                token features (required when ``text_guided``).
            text_mask (Tensor, optional): ``[B, L]``, 1 for real tokens.

        Returns:
            Tensor: ``[B, 3, h*P, w*P]`` predicted (normalised) pixels.
        """
        h, w = int(grid_size[0]), int(grid_size[1])
        B, T, C = visual_tokens.shape
        if C != self.visual_dim:
            raise ValueError(f'visual tokens have width {C}, the head '
                             f'expects visual_dim={self.visual_dim}')
        if T != self.num_prefix_tokens + h * w:
            raise ValueError(
                f'got {T} visual tokens, expected {self.num_prefix_tokens} '
                f'prefix + {h}x{w} patch tokens')
        q = self.ln_pre_i(self.visual_proj(visual_tokens))
        padding = None
        if self.text_guided:
            if text_tokens is None:
                raise ValueError('text_guided=True needs text_tokens')
            if text_tokens.shape[0] != B or \
                    text_tokens.shape[-1] != self.text_dim:
                raise ValueError(
                    f'text tokens {tuple(text_tokens.shape)} do not match '
                    f'batch {B} / text_dim {self.text_dim}')
            kv = self.ln_pre_t(self.text_proj(text_tokens))
            if self.use_key_padding_mask and text_mask is not None:
                padding = ~text_mask.to(torch.bool)
        else:
            kv = self.ln_pre_t(self.visual_proj(visual_tokens))
        x = self.cross_attn(q, kv, kv, key_padding_mask=padding,
                            need_weights=False)[0]
        if self.transformer is not None:
            x = self.transformer(x)
        x = self.ln_post(x)[:, self.num_prefix_tokens:]
        x = x.transpose(1, 2).reshape(B, self.embed_dims, h, w)
        return self.decoder(x)
