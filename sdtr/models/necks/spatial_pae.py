"""Spatial-PAE: the instruction progressively attends the visual tokens.

PIR-ITR's visual instruction representation (VIR; PIR eq. 11-12,
docs/methods/pir.md#6-spatial-pae).  With the kept visual tokens
:math:`\\tilde F \\in R^{K\\times d}` (after the belief strategy) and the
instruction embedding :math:`g \\in R^d`, for
:math:`\\ell = 1..\\text{instru\\_num}` (2):

.. math::

    A = \\mathrm{MHSA}_\\ell(\\tilde F), \\qquad
    \\tilde F = \\mathrm{CroSA}_\\ell(q = M_\\ell(g)\\,\\mathbf 1_K,\\;
                                    kv = A)

with :math:`M_\\ell` a learned linear map of the instruction ("mapping_img").
The retriever then forms :math:`v = \\mathrm{normalize}(f_0 +
H(\\tilde F_0))`.  Every query row is the same mapped instruction, as in the
released code.
"""
from typing import Optional

import torch
from torch import nn

from sdtr.registry import MODELS
from .pae_cross_attention_layer import PAECrossAttentionLayer
from .pae_self_attention_layer import PAESelfAttentionLayer


@MODELS.register_module()
class SpatialPAE(nn.Module):
    """Spatial Progressive Attention Encoder (instruction -> image tokens).

    Args:
        dim (int): token width (512).
        instru_num (int): number of (MHSA, CroSA) steps (2).
        num_heads (int): attention heads (8).
        dropout (float): dropout (0.2).
    """

    def __init__(self,
                 dim: int = 512,
                 instru_num: int = 2,
                 num_heads: int = 8,
                 dropout: float = 0.2):
        super().__init__()
        if instru_num < 1:
            raise ValueError(f'instru_num must be >= 1, got {instru_num}')
        self.dim = dim
        self.instru_num = instru_num
        self.mappings = nn.ModuleList(
            nn.Linear(dim, dim) for _ in range(instru_num))
        self.self_layers = nn.ModuleList(
            PAESelfAttentionLayer(dim, num_heads, dropout)
            for _ in range(instru_num))
        self.cross_layers = nn.ModuleList(
            PAECrossAttentionLayer(dim, num_heads, dropout)
            for _ in range(instru_num))

    def forward(self,
                tokens: torch.Tensor,
                instruction: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """``tokens [B, K, D]``, ``instruction [B, D]`` -> ``[B, K, D]``."""
        if tokens.dim() != 3 or tokens.shape[-1] != self.dim:
            raise ValueError(f'SpatialPAE expects tokens [B, K, {self.dim}], '
                             f'got {tuple(tokens.shape)}')
        if instruction.shape != (tokens.shape[0], self.dim):
            raise ValueError(
                f'SpatialPAE expects instruction [B, D] = '
                f'[{tokens.shape[0]}, {self.dim}], got '
                f'{tuple(instruction.shape)}')
        queries = instruction.unsqueeze(1).expand_as(tokens)
        x = tokens
        for mapping, sa, ca in zip(self.mappings, self.self_layers,
                                   self.cross_layers):
            attended = sa(x, key_padding_mask)
            x = ca(mapping(queries), attended, key_padding_mask)
        return x
