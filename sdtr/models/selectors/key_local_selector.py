"""Key local selection by importance (EKLSR eq. 3-4, also eq. 10 and 14).

.. math::

    ID_v = \\mathrm{PolynomialSelection}(S_v, \\alpha)
    \\qquad \\text{(EKLSR eq. 3)}, \\qquad
    ID_t = \\mathrm{PolynomialSelection}(S_t, \\beta)
    \\qquad \\text{(EKLSR eq. 4)}

For every sample with :math:`n` valid locals (``N`` image patches, or the
true number of words of *this* caption) the selector draws
:math:`k = \\lceil \\mathrm{ratio} \\cdot n \\rceil` **distinct** locals, each
draw choosing among the not-yet-chosen locals with probability proportional
to its importance factor :math:`s_i` (a multinomial draw without
replacement, the "polynomial probability selection" of §3.2.1).  The same
selector with ratios :math:`\\gamma` / :math:`\\tau` picks the tokens and
patches that KLR masks (eq. 10 and 14).

It is implemented with the Gumbel-top-k trick: with
:math:`g_i \\sim \\mathrm{Gumbel}(0, 1)` i.i.d., the :math:`k` largest keys
:math:`\\log p_i + g_i` are distributed exactly as :math:`k` successive draws
without replacement with probabilities :math:`p_i = s_i / \\sum_j s_j`
(Vieira 2014; Kool et al., ICML 2019), which vectorises over a batch with a
different :math:`k` per row.  Padding, SOT and EOT (``valid_mask`` False)
are never drawn.  A valid local with :math:`s_i = 0` keeps a tiny floor
probability so that :math:`k \\le n` draws always exist.

Modes (paper Table 6): ``'polynomial'`` (the paper's), ``'random'``
(uniform over the valid locals) and ``'topk'`` (the :math:`k` largest
factors).

Evaluation (``eval_mode``, used when the module is in ``eval()`` mode).
Retrieval features must be deterministic (gallery features are computed
once, offline), so the stochastic draw is replaced by a deterministic
version of the *same* rule:

* ``'auto'`` (default): the row's own rule.  ``polynomial`` and ``topk``
  evaluate with ``'topk'``; ``random`` evaluates with ``'fixed'`` (Table 6's
  "random" row must not be scored with importance top-k, a rule it never
  trained with).
* ``'topk'``: the :math:`k` locals of largest importance, whatever the
  training mode.  For ``polynomial`` this is the most probable outcome of
  the first draws of the training distribution, and it keeps the *same
  number* of locals as training, so the fused feature of eq. 5 has the same
  scale.  (An "expectation" of the fusion would weight *every* local by its
  inclusion probability, which has no closed form for draws without
  replacement and mixes in all the low-importance locals that selection is
  meant to exclude.)
* ``'fixed'``: the training rule with its noise drawn once from
  ``eval_seed``, one value per local position (independent of the batch,
  its order, the rank and the device): ``random`` keeps a fixed random
  subset of the valid positions, ``polynomial`` adds fixed Gumbel noise to
  :math:`\log p_i` (so the selection still depends on the importance).
  Galleries are reproducible between runs and world sizes.
* ``'sample'``: keep the training draw (stochastic; for analysis only, the
  metrics then vary between runs).
"""
import math
from typing import Optional

import torch
from torch import nn

from sdtr.registry import MODELS

_MODES = ('polynomial', 'random', 'topk')
_EVAL_MODES = ('auto', 'topk', 'fixed', 'sample')


@MODELS.register_module()
class KeyLocalSelector(nn.Module):
    """Select ``ceil(ratio * n)`` locals per sample (EKLSR eq. 3-4).

    Args:
        ratio (float): fraction of the valid locals to select, in (0, 1]:
            :math:`\\alpha` / :math:`\\beta` for KLSF, :math:`\\tau` /
            :math:`\\gamma` for KLR masking.
        mode (str): ``'polynomial'`` (default, the paper), ``'random'`` or
            ``'topk'`` (Table 6).
        eval_mode (str): ``'auto'`` (default: the training rule made
            deterministic), ``'topk'``, ``'fixed'`` or ``'sample'`` (same
            draw as in training); see the module doc.
        eval_seed (int): seed of the fixed noise of ``'fixed'`` (0).
        min_select (int): at least this many locals per sample that has any
            (1), so a short caption still contributes.
        eps (float): probability floor of valid locals with zero importance.

    Forward:
        scores (Tensor): ``[B, N]`` importance factors (>= 0).
        valid_mask (Tensor, optional): ``[B, N]`` bool; default all valid.

    Returns:
        Tensor: ``[B, N]`` bool, True at the selected locals (each row holds
        exactly :meth:`num_selected` Trues).
    """

    def __init__(self,
                 ratio: float,
                 mode: str = 'polynomial',
                 eval_mode: str = 'auto',
                 min_select: int = 1,
                 eps: float = 1e-6,
                 eval_seed: int = 0):
        super().__init__()
        if mode not in _MODES:
            raise ValueError('KeyLocalSelector: mode must be one of '
                             f'{_MODES}, got {mode!r}')
        if eval_mode not in _EVAL_MODES:
            raise ValueError('KeyLocalSelector: eval_mode must be one of '
                             f'{_EVAL_MODES}, got {eval_mode!r}')
        ratio = float(ratio)
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f'KeyLocalSelector: ratio must be in (0, 1], got '
                             f'{ratio}')
        if min_select < 0:
            raise ValueError(f'min_select must be >= 0, got {min_select}')
        self.ratio = ratio
        self.mode = mode
        self.eval_mode = eval_mode
        self.min_select = int(min_select)
        self.eps = float(eps)
        self.eval_seed = int(eval_seed)
        self._fixed_noise = {}  # (N, device) -> [N] uniform(0, 1)

    def num_selected(self, num_valid: torch.Tensor) -> torch.Tensor:
        """``k = ceil(ratio * n)`` per sample, clipped to ``[min_select, n]``.

        A relative tolerance keeps e.g. ``0.3 * 10`` at 3 (not 4) despite
        floating point.
        """
        n = num_valid.to(torch.float64)
        k = torch.ceil(n * self.ratio - 1e-9 * torch.clamp(n, min=1.0))
        k = torch.clamp(k, min=float(self.min_select))
        return torch.minimum(k, n).to(torch.long)

    def current_mode(self) -> str:
        """The rule in force: ``mode`` in training (and with ``'sample'``);
        in eval ``'topk'`` or ``'fixed_<mode>'``."""
        if self.training or self.eval_mode == 'sample':
            return self.mode
        eval_mode = self.eval_mode
        if eval_mode == 'auto':
            eval_mode = 'fixed' if self.mode == 'random' else 'topk'
        if eval_mode == 'topk' or self.mode == 'topk':
            return 'topk'
        return f'fixed_{self.mode}'

    def _uniform(self, scores: torch.Tensor, fixed: bool) -> torch.Tensor:
        """U(0, 1) noise like ``scores``: fresh, or one fixed value per
        position drawn from ``eval_seed``."""
        if not fixed:
            return torch.rand_like(scores)
        n = scores.shape[1]
        key = (n, str(scores.device))
        if key not in self._fixed_noise:
            g = torch.Generator().manual_seed(self.eval_seed)
            self._fixed_noise[key] = torch.rand(n, generator=g).to(
                scores.device)
        return self._fixed_noise[key].expand_as(scores)

    def forward(self,
                scores: torch.Tensor,
                valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if scores.dim() != 2:
            raise ValueError('KeyLocalSelector expects scores [B, N], got '
                             f'{tuple(scores.shape)}')
        if valid_mask is None:
            valid_mask = torch.ones_like(scores, dtype=torch.bool)
        elif valid_mask.shape != scores.shape:
            raise ValueError(f'valid_mask {tuple(valid_mask.shape)} must '
                             f'match scores {tuple(scores.shape)}')
        valid_mask = valid_mask.bool()
        scores = scores.detach().float()
        if (scores[valid_mask] < 0).any():
            raise ValueError('importance factors must be >= 0 (EKLSR eq. 1-2 '
                             'gives values in [0, 2])')
        k = self.num_selected(valid_mask.sum(dim=1))
        mode = self.current_mode()
        fixed = mode.startswith('fixed_')
        mode = mode[len('fixed_'):] if fixed else mode
        if mode == 'topk':
            keys = scores.clone()
        elif mode == 'random':
            keys = self._uniform(scores, fixed).clone()
        else:  # polynomial: Gumbel-top-k == multinomial w/o replacement
            total = (scores * valid_mask).sum(dim=1, keepdim=True)
            probs = scores / total.clamp_min(1e-12)
            log_p = torch.log(probs.clamp_min(self.eps))
            uniform = self._uniform(scores, fixed).clamp(1e-12, 1.0 - 1e-7)
            keys = log_p - torch.log(-torch.log(uniform))
        keys = keys.masked_fill(~valid_mask, -math.inf)
        order = keys.argsort(dim=1, descending=True, stable=True)
        rank = torch.empty_like(order)
        rank.scatter_(
            1, order,
            torch.arange(order.shape[1], device=order.device).expand_as(
                order).contiguous())
        return (rank < k.unsqueeze(1)) & valid_mask

    def extra_repr(self) -> str:
        return (f'ratio={self.ratio}, mode={self.mode!r}, '
                f'eval_mode={self.eval_mode!r}, eval_seed={self.eval_seed}')
