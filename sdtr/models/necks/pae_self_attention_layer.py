"""Self-attention layer of PIR's Progressive Attention Encoder (PAE).

PIR eq. 7-10 (§IV-C1; structure rebuilt from the released code in
docs/methods/pir.md#5-pae-layer).  A post-norm layer with ``h = 8`` heads,
dropout ``p = 0.2`` and the PAE MLP
:math:`\\mathrm{MLP}(x) = W_2\\,\\mathrm{GELU}(\\mathrm{LN}(W_1 x))`,
:math:`W_1: d \\to 2d`, :math:`W_2: 2d \\to d`:

.. math::

    x \\leftarrow \\mathrm{LN}_1(x + \\mathrm{Drop}(
        \\mathrm{MHA}(q=x, k=x, v=x)))
    \\qquad
    x \\leftarrow \\mathrm{LN}_2(x + \\mathrm{Drop}(\\mathrm{MLP}(x)))

Multi-head attention is :class:`torch.nn.MultiheadAttention` (scale
:math:`1/\\sqrt{d/h}`, dropout on the attention map, as the released MHA).
``key_padding_mask`` (``[B, L]`` bool, True = padding) removes padded keys;
the released code never passes a mask.
"""
from typing import Optional

import torch

from sdtr.registry import MODELS
from .pae_cross_attention_layer import PAECrossAttentionLayer


@MODELS.register_module()
class PAESelfAttentionLayer(PAECrossAttentionLayer):
    """Post-norm self-attention layer ("MHSA" of the PAE).

    The cross-attention layer with the query stream equal to the key/value
    stream (same parameters, same residual and norms), so
    ``MHSA(x) = CroSA(x, x)``.

    Args:
        dim (int): token width ``d``.
        num_heads (int): attention heads (8).
        dropout (float): dropout of the attention map and of both residual
            branches (0.2).
        mlp_ratio (int): hidden width of the MLP as a multiple of ``d`` (2).
    """

    def forward(self, x: torch.Tensor,
                key_padding_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """``x [B, L, d]`` -> ``[B, L, d]``; padded keys are ignored."""
        return super().forward(x, x, key_padding_mask)
