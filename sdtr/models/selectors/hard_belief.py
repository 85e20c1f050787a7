"""PIR hard belief: keep the visual tokens the scene prior trusts most.

PIR-ITR (PIR eq. 3-4, §IV-B "hard belief"; docs/methods/pir.md#3-hard-belief
rebuilds the lost equations from the released code).  With projected tokens
:math:`f_j` (``j = 0..N-1``; in PIR-ITR ``N = 50``: the average-pooled Swin
token followed by the 7x7 grid) and the instruction :math:`g`:

.. math::

    b_j = \\mathrm{softmax}_j(f_j^\\top g), \\qquad
    \\tilde F = [f_{\\pi(1)}, \\dots, f_{\\pi(K)}]

where :math:`\\pi` sorts :math:`b` in descending order and ``K =
filter_size`` (40).  The belief only selects and orders the tokens; it is not
used as a weight.  Works for ``B = 1`` (the released code ``squeeze()``s).
"""
from typing import Tuple

import torch
from torch import nn

from sdtr.registry import MODELS
from ..interfaces import BeliefOutput
from .soft_belief import token_belief


@MODELS.register_module()
class HardBelief(nn.Module):
    """Hard belief strategy: top-``filter_size`` tokens by belief.

    Args:
        filter_size (int): number of tokens kept (``K``; 40 in PIR-ITR).
    """

    def __init__(self, filter_size: int = 40):
        super().__init__()
        if int(filter_size) < 1:
            raise ValueError(f'filter_size must be >= 1, got {filter_size}')
        self.filter_size = int(filter_size)

    def select(self, tokens: torch.Tensor, instruction: torch.Tensor
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Indices ``[B, K]`` of the kept tokens (descending belief) and the
        belief ``[B, N]``."""
        belief = token_belief(tokens, instruction)
        if self.filter_size > tokens.shape[1]:
            raise ValueError(
                f'HardBelief filter_size={self.filter_size} exceeds the '
                f'number of tokens {tokens.shape[1]}')
        order = torch.argsort(belief, dim=-1, descending=True, stable=True)
        return order[:, :self.filter_size], belief

    def forward(self, tokens: torch.Tensor,
                instruction: torch.Tensor) -> BeliefOutput:
        """Keep the top-``K`` of ``tokens [B, N, C]`` (the ``Belief``
        interface, docs/architecture.md#component-interfaces).

        Returns:
            BeliefOutput: ``tokens`` ``[B, K, C]`` in descending belief
            order, ``belief`` ``[B, N]`` and ``kept_indices`` ``[B, K]``.
        """
        indices, belief = self.select(tokens, instruction)
        kept = torch.gather(
            tokens, 1,
            indices.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
        return BeliefOutput(tokens=kept, belief=belief, kept_indices=indices)

    def extra_repr(self) -> str:
        return f'filter_size={self.filter_size}'
