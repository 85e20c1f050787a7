"""PIR soft belief: rank-weighted re-weighting of visual tokens.

PIR (Pan et al., "Prior Instruction Representation", PIR eq. 5-6, §IV-B,
"soft belief") re-weights every visual token by how strongly it agrees with
the scene-prior instruction, without discarding any token.  The paper lost
its equations; docs/methods/pir.md#4-soft-belief gives them from the PIR-CLIP
code.  With tokens :math:`x_j \\in R^C` (``j = 0..N-1``) and the instruction
:math:`y \\in R^C`:

.. math::

    b_j = \\mathrm{softmax}_j(x_j^\\top y), \\qquad
    \\tilde x_j = x_j\\,(b_j + w_j)

and :math:`\\tilde X` is L2-normalised.  The two readings differ in
:math:`w_j` and in the normalisation axis:

* ``rank_mode='paper'`` (default): :math:`w_j = 1/\\sqrt{r_j + 1}` with
  :math:`r_j` the (0-based) rank of token ``j`` when tokens are sorted by
  descending belief, so the most trusted token gets weight 1; each token is
  L2-normalised over its ``C`` channels.
* ``rank_mode='released'`` (docs/methods/pir.md#4-soft-belief, 9554baf):
  :math:`w_j = 1/\\sqrt{\\pi_j + 1}` with :math:`\\pi_j` the *index of the
  token ranked j-th* (``argsort`` output used position-wise), and the
  normalisation runs over the token axis (``F.normalize(..., dim=1)``: every
  channel normalised across the ``N`` tokens).

Unlike the released code (which ``squeeze()``s), this works for ``B = 1``.
"""
import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from ..interfaces import BeliefOutput

RANK_MODES = ('paper', 'released')


def token_belief(tokens: torch.Tensor,
                 instruction: torch.Tensor) -> torch.Tensor:
    """:math:`b_j = \\mathrm{softmax}_j(x_j^\\top y)` (no temperature).

    Args:
        tokens (Tensor): ``[B, N, C]``.
        instruction (Tensor): ``[B, C]``.

    Returns:
        Tensor: ``[B, N]`` belief, summing to 1 over tokens.
    """
    if tokens.dim() != 3:
        raise ValueError('tokens must be [B, N, C], got shape '
                         f'{tuple(tokens.shape)}')
    if instruction.dim() != 2 or instruction.shape[0] != tokens.shape[0] \
            or instruction.shape[1] != tokens.shape[2]:
        raise ValueError(
            f'instruction must be [B, C] = [{tokens.shape[0]}, '
            f'{tokens.shape[2]}] to match tokens {tuple(tokens.shape)}, got '
            f'{tuple(instruction.shape)}')
    logits = torch.einsum('bnc,bc->bn', tokens, instruction)
    return logits.softmax(dim=-1)


@MODELS.register_module()
class SoftBelief(nn.Module):
    """Soft belief strategy (PIR eq. 5-6; docs/methods/pir.md#4-soft-belief).

    Args:
        rank_mode (str): ``'paper'`` (weight from each token's own rank,
            normalisation over channels) or ``'released'`` (weight from the
            index of the token ranked j-th, normalisation over tokens).
        eps (float): ``F.normalize`` epsilon.
    """

    def __init__(self, rank_mode: str = 'paper', eps: float = 1e-12):
        super().__init__()
        if rank_mode not in RANK_MODES:
            raise ValueError(f'rank_mode must be one of {RANK_MODES}, got '
                             f'{rank_mode!r}')
        self.rank_mode = rank_mode
        self.eps = eps

    def rank_weights(self, belief: torch.Tensor) -> torch.Tensor:
        """``w [B, N]`` of the selected reading (see module docstring)."""
        order = torch.argsort(belief, dim=-1, descending=True, stable=True)
        if self.rank_mode == 'released':
            index = order  # index of the token ranked j-th, at position j
        else:
            index = torch.argsort(order, dim=-1, stable=True)  # rank of j
        return (index.to(belief.dtype) + 1).rsqrt()

    def forward(self, tokens: torch.Tensor,
                instruction: torch.Tensor) -> BeliefOutput:
        """Re-weight ``tokens [B, N, C]`` by the belief in ``instruction``
        (the ``Belief`` interface, docs/architecture.md#component-interfaces).

        Returns:
            BeliefOutput: re-weighted ``tokens`` ``[B, N, C]``, ``belief``
            ``[B, N]``, ``kept_indices`` None (every token is kept).
        """
        belief = token_belief(tokens, instruction)
        weights = belief + self.rank_weights(belief)
        out = tokens * weights.unsqueeze(-1)
        dim = 1 if self.rank_mode == 'released' else -1
        out = F.normalize(out, dim=dim, eps=self.eps)
        return BeliefOutput(tokens=out, belief=belief)

    def extra_repr(self) -> str:
        return f'rank_mode={self.rank_mode!r}'
