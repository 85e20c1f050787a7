"""Temporal-PAE: the previous step's tokens query the current step.

PIR-ITR's language cycle attention (LCA; PIR eq. 13-14, equations in
docs/methods/pir.md#7-temporal-pae).  With the projected text tokens
:math:`h^0 = T \\in R^{L\\times d}`, for
:math:`\\ell = 1..\\text{cycle\\_num}` (3):

.. math::

    a = \\mathrm{MHSA}_\\ell(h^{\\ell-1}), \\qquad
    h^\\ell = \\mathrm{CroSA}_\\ell(q = M_\\ell(h^{\\ell-1}),\\; kv = a)

("the previous time step activates the current one"); the retriever forms
:math:`t = \\mathrm{normalize}(T_{cls} + H(h^3_{cls}))`.

``key_padding_mask`` (``[B, L]`` bool, True = padding) masks padded keys in
every attention, so padded positions never reach non-padded outputs (the
released code passes no mask: the retriever's switch reproduces that by not
passing one).
"""
from typing import Optional

import torch
from torch import nn

from sdtr.registry import MODELS
from .pae_cross_attention_layer import PAECrossAttentionLayer
from .pae_self_attention_layer import PAESelfAttentionLayer


@MODELS.register_module()
class TemporalPAE(nn.Module):
    """Temporal Progressive Attention Encoder (text tokens).

    Args:
        dim (int): token width (512).
        cycle_num (int): number of (MHSA, CroSA) steps (3).
        num_heads (int): attention heads (8).
        dropout (float): dropout (0.2).
    """

    def __init__(self,
                 dim: int = 512,
                 cycle_num: int = 3,
                 num_heads: int = 8,
                 dropout: float = 0.2):
        super().__init__()
        if cycle_num < 1:
            raise ValueError(f'cycle_num must be >= 1, got {cycle_num}')
        self.dim = dim
        self.cycle_num = cycle_num
        self.mappings = nn.ModuleList(
            nn.Linear(dim, dim) for _ in range(cycle_num))
        self.self_layers = nn.ModuleList(
            PAESelfAttentionLayer(dim, num_heads, dropout)
            for _ in range(cycle_num))
        self.cross_layers = nn.ModuleList(
            PAECrossAttentionLayer(dim, num_heads, dropout)
            for _ in range(cycle_num))

    def forward(self,
                tokens: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """``tokens [B, L, D]`` -> ``[B, L, D]``."""
        if tokens.dim() != 3 or tokens.shape[-1] != self.dim:
            raise ValueError(f'TemporalPAE expects tokens [B, L, {self.dim}],'
                             f' got {tuple(tokens.shape)}')
        h = tokens
        for mapping, sa, ca in zip(self.mappings, self.self_layers,
                                   self.cross_layers):
            attended = sa(h, key_padding_mask)
            h = ca(mapping(h), attended, key_padding_mask)
        return h
