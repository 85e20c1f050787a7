"""A plain stack of Transformer encoder layers ("TEL", PIR Table I).

PIR Table I's "+ TEL" row adds Transformer encoder layers on top of the
Swin-T / BERT baseline, in place of the prior-instructed Spatial-PAE and the
Temporal-PAE (PIR §V-D1: "TEL denotes the Transformer encoder layer"; the
row has the full model's 161 M parameters without the prior).  With the
tokens :math:`X^0 \\in R^{L\\times d}`, for :math:`\\ell = 1..n`:

.. math::

    X^\\ell = \\mathrm{MHSA}_\\ell(X^{\\ell-1})

where :math:`\\mathrm{MHSA}` is the post-norm self-attention layer of the
PAE (PIR eq. 7-10 with query = key = value, :class:`PAESelfAttentionLayer`),
so the only difference to the PAE is that nothing external (instruction,
previous step) forms the queries.  ``num_layers = 2 * steps`` gives the
parameter budget of a PAE with ``steps`` (MHSA, CroSA) steps (the released
code keeps such an "equal-parameter SA" variant as dead code after the
return of its text fusion, docs/methods/pir.md#7-temporal-pae).

The retriever forms :math:`v = f_0 + H(X^n_0)` (image, ``image_neck``) or
:math:`t = T_0 + H(X^n_0)` (text, ``temporal_pae`` slot), as with the PAE.
"""
from typing import Optional

import torch
from torch import nn

from sdtr.registry import MODELS
from .pae_self_attention_layer import PAESelfAttentionLayer


@MODELS.register_module()
class TransformerEncoderNeck(nn.Module):
    """``num_layers`` post-norm self-attention layers over a token sequence.

    Args:
        dim (int): token width ``d`` (512).
        num_layers (int): number of layers (4 on the image side and 6 on the
            text side match the 2 + 3 PAE steps of PIR-ITR).
        num_heads (int): attention heads (8).
        dropout (float): dropout (0.2).
    """

    def __init__(self,
                 dim: int = 512,
                 num_layers: int = 4,
                 num_heads: int = 8,
                 dropout: float = 0.2):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        self.dim = dim
        self.layers = nn.ModuleList(
            PAESelfAttentionLayer(dim, num_heads, dropout)
            for _ in range(num_layers))

    def forward(self,
                tokens: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """``tokens [B, L, D]`` -> ``[B, L, D]``; padded keys (True in
        ``key_padding_mask``) are never attended."""
        if tokens.dim() != 3 or tokens.shape[-1] != self.dim:
            raise ValueError(
                f'TransformerEncoderNeck expects tokens [B, L, {self.dim}], '
                f'got {tuple(tokens.shape)}')
        x = tokens
        for layer in self.layers:
            x = layer(x, key_padding_mask)
        return x
