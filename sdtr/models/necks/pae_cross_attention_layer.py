"""Cross-attention layer of PIR's Progressive Attention Encoder (PAE).

PIR eq. 7-10 ("CroSA"; docs/methods/pir.md#5-pae-layer).  The
query comes from the first input :math:`x`, keys and values from the second
:math:`y`, and the residual is added to :math:`y` (post-norm, 8 heads,
dropout 0.2, the PAE MLP):

.. math::

    y \\leftarrow \\mathrm{LN}_1(y + \\mathrm{Drop}(\\mathrm{MHA}(q=x, k=y,
    v=y))) \\qquad
    y \\leftarrow \\mathrm{LN}_2(y + \\mathrm{Drop}(\\mathrm{MLP}(y)))

Because the residual is added to :math:`y`, ``x`` and ``y`` must have the
same length.  ``key_padding_mask`` (``[B, L]`` bool, True = padding) masks
padded keys of ``y``; outputs at non-padded positions then never depend on
padded positions (every other operation is per token).
"""
from typing import Optional

import torch
from torch import nn

from sdtr.registry import MODELS


def build_pae_mlp(dim: int, mlp_ratio: int = 2) -> nn.Sequential:
    """PAE MLP (docs/methods/pir.md#5-pae-layer): Linear(d, rd) -> LN(rd)
    -> GELU -> Linear(rd, d)."""
    hidden = int(dim * mlp_ratio)
    return nn.Sequential(
        nn.Linear(dim, hidden), nn.LayerNorm(hidden), nn.GELU(),
        nn.Linear(hidden, dim))


def check_key_padding_mask(mask: Optional[torch.Tensor], batch: int,
                           length: int) -> Optional[torch.Tensor]:
    """Validate a ``[B, L]`` padding mask (True = padding) and make it bool.

    Rows that are all padding would give NaN attention; they are rejected.
    """
    if mask is None:
        return None
    if mask.shape != (batch, length):
        raise ValueError(f'key_padding_mask must be [B, L] = [{batch}, '
                         f'{length}], got {tuple(mask.shape)}')
    mask = mask.bool()
    if mask.all(dim=1).any():
        raise ValueError('key_padding_mask has a row that is all padding '
                         '(True = padding); every sequence needs a token')
    return mask


@MODELS.register_module()
class PAECrossAttentionLayer(nn.Module):
    """Post-norm cross-attention layer ("CroSA" of the PAE).

    Args:
        dim (int): token width ``d``.
        num_heads (int): attention heads (8).
        dropout (float): dropout of the attention map and of both residual
            branches (0.2).
        mlp_ratio (int): hidden width of the MLP as a multiple of ``d`` (2).
    """

    def __init__(self,
                 dim: int = 512,
                 num_heads: int = 8,
                 dropout: float = 0.2,
                 mlp_ratio: int = 2):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim={dim} is not divisible by '
                             f'num_heads={num_heads}')
        self.attn = nn.MultiheadAttention(
            dim, num_heads, dropout=dropout, batch_first=True)
        self.drop1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(dim)
        self.mlp = build_pae_mlp(dim, mlp_ratio)
        self.drop2 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self,
                query: torch.Tensor,
                key_value: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """Attend from ``query [B, L, d]`` to ``key_value [B, L, d]``.

        Returns:
            Tensor: the updated ``key_value`` stream ``[B, L, d]``.
        """
        if query.shape != key_value.shape:
            raise ValueError(
                'PAECrossAttentionLayer adds the residual to key_value, so '
                f'query {tuple(query.shape)} and key_value '
                f'{tuple(key_value.shape)} must have the same shape')
        mask = check_key_padding_mask(key_padding_mask, key_value.shape[0],
                                      key_value.shape[1])
        attn, _ = self.attn(
            query, key_value, key_value, key_padding_mask=mask,
            need_weights=False)
        y = self.norm1(key_value + self.drop1(attn))
        return self.norm2(y + self.drop2(self.mlp(y)))
