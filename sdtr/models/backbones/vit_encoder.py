"""ViT image encoder returning the class token + patch tokens.

The ImageNet ViT of PIR Table I's "(CL) ViT-B / BERT" row
(docs/methods/pir.md#2-encoders): the image tokens after the final norm,

.. math::  F = \\mathrm{LN}(\\mathrm{ViT}([x_{cls}; \\mathrm{Conv}_P(I)]
           + E_{pos})) \\in R^{(1 + HW/P^2) \\times C}

(``1 + 14x14 = 197`` tokens of width 768 for ViT-B/16 at 224 px), token 0
the class token.  ``embed`` / ``forward_tokens`` split the forward between
the patch embedding and the transformer as the CLIP tower does (masked image
modelling in VFE-TPS's "baseline (ours)" with ViT + BERT).  It has the
interface of PIR-ITR's Swin encoder
(:class:`SwinTransformerEncoder`: ``forward(images) -> [B, 1 + N, C]``,
``width``), so the retriever uses it unchanged.  The network is mmpretrain's
:class:`~mmpretrain.models.VisionTransformer` (``out_type='raw'``),
composed, not re-implemented.

Pretrained weights (``pretrained=dict(checkpoint=...)``, read in
:meth:`init_weights`, strict) may be an mmpretrain classifier checkpoint
(``backbone.*``; e.g. DeiT-B or ViT-B/16 from mmpretrain's model zoo), the
bare backbone state dict or an sdtr checkpoint (``image_encoder.vit.*``).
The classifier head and the data preprocessor's buffers are dropped and
reported; a position embedding of another grid is resized (bicubic,
mmpretrain's ``resize_pos_embed``) and noted in the report.
"""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule

from sdtr.registry import MODELS
from sdtr.checkpoint import PretrainedMixin, select_prefix

#: prefixes of the ViT backbone in classifier / sdtr checkpoints
BACKBONE_PREFIXES = ('backbone.', 'image_encoder.vit.', 'vit.')


@MODELS.register_module()
class ViTEncoder(PretrainedMixin, BaseModule):
    """mmpretrain Vision Transformer with a token-sequence output.

    Args:
        arch (str | dict): mmpretrain arch (``'b'`` = ViT-B, ``'deit-b'``,
            ``'s'`` ...) or a dict with ``embed_dims``, ``num_layers``,
            ``num_heads``, ``feedforward_channels``.
        img_size (int): input size (224).
        patch_size (int): patch size (16).
        drop_path_rate (float): stochastic depth.
        pretrained (str | dict, optional): ``dict(checkpoint=...,
            **options)``, loaded strictly in :meth:`init_weights` (options:
            ``prefix``, ``ignore_keys``, ``reinit_keys``, ``check_hash``,
            ``sha256``).
        init_cfg (dict, optional): mmengine init config.
        **kwargs: other :class:`mmpretrain.models.VisionTransformer`
            arguments.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'b',
                 img_size: int = 224,
                 patch_size: int = 16,
                 drop_path_rate: float = 0.0,
                 pretrained: Union[str, dict, None] = None,
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(init_cfg=init_cfg)
        from mmpretrain.models import VisionTransformer
        self.vit = VisionTransformer(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            drop_path_rate=drop_path_rate,
            out_type='raw',
            with_cls_token=True,
            final_norm=True,
            **kwargs)
        self.width = self.vit.embed_dims
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)

    @property
    def grid_size(self):
        """``(H, W)`` of the patch grid for the configured size."""
        return tuple(self.vit.patch_resolution)

    @property
    def patch_size(self) -> int:
        return self.vit.patch_embed.projection.kernel_size[0]

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` -> ``[B, 1 + N, C]``; token 0 is the class
        token."""
        return self.vit(images)[-1]

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Patch embeddings ``[B, N, C]`` (no class token, no position)."""
        tokens, _ = self.vit.patch_embed(images)
        return tokens

    def forward_tokens(self,
                       patch_tokens: torch.Tensor,
                       extra_tokens: Optional[torch.Tensor] = None,
                       keep_index: Optional[torch.Tensor] = None
                       ) -> torch.Tensor:
        """The rest of :meth:`forward` on (changed) patch embeddings:
        ``forward(x) == forward_tokens(embed(x))``.  ``keep_index [B, K]``
        keeps those patches (after their position embedding, MAE);
        ``extra_tokens [B, E, C]`` go before the class token without a
        position embedding.  Returns ``[B, E + 1 + N', C]``."""
        vit = self.vit
        cls = vit.cls_token.expand(patch_tokens.shape[0], -1, -1)
        x = torch.cat([cls, patch_tokens], dim=1) + vit.pos_embed
        if keep_index is not None:
            idx = keep_index.unsqueeze(-1).expand(-1, -1, x.shape[-1]) + 1
            x = torch.cat([x[:, :1], torch.gather(x, 1, idx)], dim=1)
        if extra_tokens is not None:
            x = torch.cat([extra_tokens, x], dim=1)
        x = vit.pre_norm(vit.drop_after_pos(x))
        for layer in vit.layers:
            x = layer(x)
        return vit.ln1(x)

    # ------------------------------------------------------------ weights
    def pretrained_target(self) -> torch.nn.Module:
        return self.vit

    def convert_state_dict(self, state_dict: dict, report) -> dict:
        """mmpretrain / sdtr ViT keys -> the backbone's; pos-embed resized."""
        from mmpretrain.models.utils import resize_pos_embed
        for prefix in BACKBONE_PREFIXES:
            if any(k.startswith(prefix) for k in state_dict):
                state_dict = select_prefix(state_dict, prefix, report)
                break
        head = [k for k in state_dict
                if k.startswith(('head.', 'neck.', 'data_preprocessor.'))]
        report.drop(head, 'classifier head / data preprocessor')
        out = {k: v for k, v in state_dict.items() if k not in head}
        pos = out.get('pos_embed')
        own = self.vit.pos_embed
        if pos is not None and pos.shape != own.shape:
            extra = self.vit.num_extra_tokens
            side = int(round((pos.shape[1] - extra)**0.5))
            out['pos_embed'] = resize_pos_embed(
                pos, (side, side), self.vit.patch_resolution,
                mode='bicubic', num_extra_tokens=extra)
            report.note(f'pos_embed resized from a {side}x{side} grid to '
                        f'{tuple(self.vit.patch_resolution)}')
        return out
