"""Identity Supervised Global Visual Feature Calibration (VFE-TPS §3.2.2,
eq. 4-5, Algorithm 2).

From the global visual features :math:`f^v` of a batch, ``C`` images are
sampled (Algorithm 2, line 1; C = 20 in the paper); over the ``C x C`` image
pairs, with :math:`y_{ij} = 1[\\mathrm{pid}_i = \\mathrm{pid}_j]`,

.. math::

    p^{v,v}_{ij} &= \\frac{\\exp(\\cos(f^v_i, f^v_j)/\\tau)}
                         {\\sum_{k=1}^C \\exp(\\cos(f^v_i, f^v_k)/\\tau)}
        \\qquad \\text{(eq. 5)} \\\\
    q^{v,v}_{ij} &= \\frac{y_{ij}}{\\sum_{k=1}^C y_{ik}}, \\qquad
    \\mathcal{L}_{IS\\text{-}GVFC} = \\frac{1}{C}\\sum_{i=1}^C\\sum_{j=1}^C
        p_{ij} \\log\\frac{p_{ij}}{q_{ij} + \\epsilon}
        \\qquad \\text{(eq. 4)}

The sums run over all ``k``/``j`` including ``i`` itself (so an identity
that appears once among the ``C`` images has the one-hot target on itself).
``epsilon`` guards :math:`\\log 0` as in the released code.  The paper gives
no :math:`\\tau`; the default 0.02 is the released code's fixed scale 50.

Sampling: ``num_samples`` images are drawn uniformly without replacement
from the batch (all of them when the batch is smaller); ``num_samples=None``
uses the whole batch, which is the released code's batch-only ``iikl``
(the release additionally appends an unbounded, per-epoch memory of past
features that breaks under DDP; it is deliberately not reproduced).  The
loss is local to each rank (no communication), so it is DDP-safe; DDP
averages the per-rank estimates.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import kl_to_targets, positive_mask


@MODELS.register_module()
class ISGVFCLoss(nn.Module):
    """KL between visual-visual matching and identity-label distributions.

    Args:
        num_samples (int, optional): C, images sampled per batch (20);
            None uses the whole batch.
        temperature (float): :math:`\\tau` of eq. 5 (0.02).
        epsilon (float): added to :math:`q` inside the log (1e-8).
        loss_weight (float): multiplier of the loss (1 in eq. 10).
    """

    default_name = 'isgvfc'

    def __init__(self,
                 num_samples: Optional[int] = 20,
                 temperature: float = 0.02,
                 epsilon: float = 1e-8,
                 loss_weight: float = 1.0):
        super().__init__()
        if num_samples is not None and int(num_samples) < 2:
            raise ValueError(f'num_samples must be >= 2 or None, got '
                             f'{num_samples}')
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got '
                             f'{temperature}')
        self.num_samples = None if num_samples is None else int(num_samples)
        self.temperature = temperature
        self.epsilon = epsilon
        self.loss_weight = loss_weight

    def sample(self, batch_size: int, device=None) -> torch.Tensor:
        """Indices of the C sampled images (Algorithm 2, line 1)."""
        if self.num_samples is None or batch_size <= self.num_samples:
            return torch.arange(batch_size, device=device)
        return torch.randperm(batch_size, device=device)[:self.num_samples]

    def forward(self,
                img_feats: torch.Tensor,
                labels: torch.Tensor,
                index: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Eq. 4.

        Args:
            img_feats (Tensor): ``[B, D]`` global visual features.
            labels (Tensor): ``[B]`` identities.
            index (Tensor, optional): explicit sample indices (default: drawn
                by :meth:`sample`).
        """
        if labels is None:
            raise ValueError('ISGVFCLoss needs identity labels')
        labels = torch.as_tensor(labels, device=img_feats.device).view(-1)
        if labels.numel() != img_feats.shape[0]:
            raise ValueError(f'{labels.numel()} labels for '
                             f'{img_feats.shape[0]} features')
        if index is None:
            index = self.sample(img_feats.shape[0], img_feats.device)
        feats = F.normalize(img_feats[index], dim=-1)
        lab = labels[index]
        y = positive_mask(lab, lab, feats.dtype)
        targets = y / y.sum(dim=1, keepdim=True)
        logits = feats @ feats.t() / self.temperature
        return self.loss_weight * kl_to_targets(logits, targets, self.epsilon)

    def extra_repr(self) -> str:
        return (f'num_samples={self.num_samples}, temperature='
                f'{self.temperature:g}, loss_weight={self.loss_weight}')
