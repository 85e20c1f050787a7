"""Image key-local reconstruction head, Image KLR (EKLSR eq. 14-17).

.. math::

    \\hat V = \\mathrm{Mask}(V, \\mathrm{PolynomialSelection}(S_v, \\tau))
    \\qquad \\text{(EKLSR eq. 14)}

    \\hat F_v = \\mathrm{Transformer}(\\hat V)
    \\qquad \\text{(EKLSR eq. 15)}

    \\hat y_i^v = \\mathrm{Linear}(\\hat f_i^{v\\,mask} + f_g^t)
    \\qquad \\text{(EKLSR eq. 16)}

and the cross-entropy of eq. 17 over the visual codebook (see
:mod:`sdtr.models.heads.base_klr_head`).  Masking happens at the
patch-embedding level, as in BEiT: the embeddings of the selected patches
(ratio :math:`\\tau`) are replaced by one learnable mask embedding *before*
the class token and the position embeddings are added, so the transformer
still knows where each masked patch is.  The targets are the visual-token
ids of the masked patches given by a BEiT-style image tokenizer (a
registered target generator, e.g.
:class:`~sdtr.models.target_generators.DALLETargetGenerator`).
"""
from typing import Optional

import torch
from mmengine.model.weight_init import trunc_normal_
from torch import nn

from sdtr.registry import MODELS
from .base_klr_head import BaseKLRHead


@MODELS.register_module()
class ImageKLRHead(BaseKLRHead):
    """Masked key-patch visual-token prediction (EKLSR eq. 14-17).

    Args:
        in_channels (int): image token / text global dimension.
        mask_channels (int): dimension of the patch embeddings that the
            mask embedding replaces (the ViT width, e.g. 768).
        vocab_size (int): visual codebook size (8192 for DALL-E).
        with_interaction (bool): add the paired text global feature
            (eq. 16); False = Table 5 "w/o interaction".
        loss_weight (float): :math:`\\eta` of eq. 18 (0.1).
        normalize (str): ``'token'`` (default, mean over masked patches) or
            ``'sample'`` (eq. 17 as printed: sum per image / B).
        ignore_index (int): label of positions that are not predicted.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 mask_channels: int,
                 vocab_size: int = 8192,
                 with_interaction: bool = True,
                 loss_weight: float = 0.1,
                 normalize: str = 'token',
                 ignore_index: int = -100,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            in_channels=in_channels,
            num_classes=vocab_size,
            with_interaction=with_interaction,
            loss_weight=loss_weight,
            normalize=normalize,
            ignore_index=ignore_index,
            init_cfg=init_cfg)
        self.mask_channels = int(mask_channels)
        self.mask_token = nn.Parameter(torch.zeros(self.mask_channels))
        trunc_normal_(self.mask_token, std=0.02)

    def mask_patches(self, patch_tokens: torch.Tensor,
                     selected: torch.Tensor) -> torch.Tensor:
        """Eq. 14: selected patch embeddings -> the mask embedding.

        Args:
            patch_tokens (Tensor): ``[B, N, mask_channels]`` patch
                embeddings (before class token and position embedding).
            selected (Tensor): ``[B, N]`` bool.
        """
        if patch_tokens.dim() != 3 or \
                patch_tokens.shape[-1] != self.mask_channels:
            raise ValueError(f'ImageKLRHead: patch embeddings must be '
                             f'[B, N, {self.mask_channels}], got '
                             f'{tuple(patch_tokens.shape)}')
        if selected.shape != patch_tokens.shape[:2]:
            raise ValueError(f'ImageKLRHead: selected '
                             f'{tuple(selected.shape)} must be [B, N] = '
                             f'{tuple(patch_tokens.shape[:2])}')
        w = selected.unsqueeze(-1).to(patch_tokens.dtype)
        mask = self.mask_token.to(patch_tokens.dtype).view(1, 1, -1)
        return patch_tokens * (1. - w) + mask * w

    def build_targets(self, token_ids: torch.Tensor,
                      selected: torch.Tensor) -> torch.Tensor:
        """Visual-token ids at the masked patches, ``ignore_index``
        elsewhere."""
        if token_ids.shape != selected.shape:
            raise ValueError(f'ImageKLRHead: visual-token ids '
                             f'{tuple(token_ids.shape)} do not match the '
                             f'patch grid {tuple(selected.shape)}')
        return token_ids.long().masked_fill(~selected.bool(),
                                            self.ignore_index)
