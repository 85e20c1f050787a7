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
``epsilon`` guards :math:`\\log 0` as in the released code.
:math:`1/\\tau` is the model's logit scale (docs/architecture.md#losses-and-
the-training-loop); the paper gives no :math:`\\tau`, the VFE-TPS configs
fix it at 0.02 (the released code's fixed scale 50).

Sampling: ``num_samples`` images are drawn uniformly without replacement
from the batch (all of them when the batch is smaller); ``num_samples=None``
uses the whole batch, which is the released code's batch-only ``iikl``.

Positives.  Eq. 4 only calibrates when sampled rows share identities.  With
random batches a person-search training set gives almost none (CUHK-PEDES:
~6 samples per identity among ~68k, so about 0.1 % of the C = 20 sampled rows
of a random batch of 100 have a same-identity partner) and the target
collapses to the one-hot on itself: the loss then pushes images of the same
person apart.  The VFE-TPS configs therefore sample batches by identity
(``IdentityBalancedSampler``, 25 identities x 4 = 100; about 48 % of the
sampled rows then have a partner: 1 - C(96,19)/C(99,19)).  After each
forward, :attr:`log_vars` holds ``pos_frac``, the fraction of sampled rows
with a same-identity partner (logged by the retriever as
``<name>_pos_frac``; a log scalar, not a loss).

Memory (switch, released behaviour).  The released code appends, for every
identity of the batch, all detached features of that identity seen so far
in the epoch (an unbounded per-epoch dictionary, cleared by a call that
fails under DDP) to the rows and columns of eq. 4.  ``memory_size=N > 0``
keeps a bounded per-rank first-in-first-out memory of the last ``N``
detached features and identities: the memory entries whose identity is
among the sampled rows join the rows and columns (gradients flow only
through the current features; an identity present twice in the batch adds
its entries once, where the release adds them once per occurrence), and the
whole batch is pushed after the loss.  The memory lives on the rank (no
communication) and is not saved in checkpoints.  ``memory_size=0`` (default)
is the paper's batch-only loss.

The loss is local to each rank (no communication), so it is DDP-safe; DDP
averages the per-rank estimates.
"""
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import kl_to_targets, positive_mask, require_scale


@MODELS.register_module()
class ISGVFCLoss(nn.Module):
    """KL between visual-visual matching and identity-label distributions.

    Args:
        num_samples (int, optional): C, images sampled per batch (20);
            None uses the whole batch.
        epsilon (float): added to :math:`q` inside the log (1e-8).
        loss_weight (float): multiplier of the loss (1 in eq. 10).
        memory_size (int): per-rank memory of past features (0 = none,
            the paper; > 0 approximates the released per-epoch memory).
    """

    default_name = 'isgvfc'
    inputs = ('img', )  # global visual features only (eq. 4)
    label_key = 'pid'
    uses_logit_scale = True

    def __init__(self,
                 num_samples: Optional[int] = 20,
                 epsilon: float = 1e-8,
                 loss_weight: float = 1.0,
                 memory_size: int = 0):
        super().__init__()
        if int(memory_size) != memory_size or memory_size < 0:
            raise ValueError(f'memory_size must be a non-negative integer, '
                             f'got {memory_size}')
        if num_samples is not None and int(num_samples) < 2:
            raise ValueError(f'num_samples must be >= 2 or None, got '
                             f'{num_samples}')
        self.num_samples = None if num_samples is None else int(num_samples)
        self.epsilon = epsilon
        self.loss_weight = loss_weight
        self.memory_size = int(memory_size)
        # per-rank ring buffer of (detached feature, identity), allocated on
        # the first push.  Plain attributes, not buffers: DDP would broadcast
        # rank 0's buffers every step, and checkpoints should not carry it.
        self.memory_feats: Optional[torch.Tensor] = None
        self.memory_labels: Optional[torch.Tensor] = None
        self._mem_count = 0  # entries ever pushed
        self.log_vars: Dict[str, torch.Tensor] = {}

    def sample(self, batch_size: int, device=None) -> torch.Tensor:
        """Indices of the C sampled images (Algorithm 2, line 1)."""
        if self.num_samples is None or batch_size <= self.num_samples:
            return torch.arange(batch_size, device=device)
        return torch.randperm(batch_size, device=device)[:self.num_samples]

    def forward(self,
                img_feats: torch.Tensor,
                labels: torch.Tensor,
                index: Optional[torch.Tensor] = None,
                logit_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Eq. 4.

        Args:
            img_feats (Tensor): ``[B, D]`` global visual features.
            labels (Tensor): ``[B]`` identities.
            index (Tensor, optional): explicit sample indices (default: drawn
                by :meth:`sample`).
            logit_scale (Tensor): the model's exp'd scale :math:`1/\\tau`.
        """
        scale = require_scale(logit_scale, self)
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
        num_rows = lab.numel()
        mem_feats, mem_lab = self._memory_of(lab, feats.dtype)
        if mem_lab.numel():
            feats = torch.cat([feats, F.normalize(mem_feats, dim=-1)])
            lab = torch.cat([lab, mem_lab])
        y = positive_mask(lab, lab, feats.dtype)
        targets = y / y.sum(dim=1, keepdim=True)
        logits = scale * feats @ feats.t()
        loss = self.loss_weight * kl_to_targets(logits, targets, self.epsilon)
        # rows of the sampled batch with a same-identity partner (j != i)
        partners = y[:num_rows].sum(dim=1) - 1
        self.log_vars = dict(pos_frac=(partners > 0).float().mean().detach())
        self._push(img_feats, labels)
        return loss

    # ------------------------------------------------------------- memory
    def _memory_of(self, labels: torch.Tensor,
                   dtype) -> Tuple[torch.Tensor, torch.Tensor]:
        """Stored features whose identity is in ``labels``."""
        if not self.memory_size or self.memory_labels is None:
            return labels.new_zeros((0, )), labels.new_zeros((0, ))
        filled = min(self._mem_count, self.memory_size)
        mem_labels = self.memory_labels[:filled].to(labels.device)
        keep = torch.isin(mem_labels, labels.unique())
        feats = self.memory_feats[:filled].to(labels.device)[keep]
        return feats.to(dtype), mem_labels[keep]

    @torch.no_grad()
    def _push(self, img_feats: torch.Tensor, labels: torch.Tensor) -> None:
        """Write the batch into the ring buffer (the oldest entries go)."""
        if not self.memory_size or not self.training:
            return
        feats = img_feats.detach().float()[-self.memory_size:]
        labels = labels.detach()[-self.memory_size:]
        if self.memory_feats is None:
            self.memory_feats = feats.new_zeros(
                (self.memory_size, feats.shape[1]))
            self.memory_labels = labels.new_zeros((self.memory_size, ))
        elif self.memory_feats.shape[1] != feats.shape[1]:
            raise ValueError(f'ISGVFCLoss memory: feature width changed '
                             f'from {self.memory_feats.shape[1]} to '
                             f'{feats.shape[1]}')
        if self.memory_feats.device != feats.device:
            self.memory_feats = self.memory_feats.to(feats.device)
            self.memory_labels = self.memory_labels.to(feats.device)
        slots = (self._mem_count + torch.arange(
            len(labels), device=feats.device)) % self.memory_size
        self.memory_feats[slots] = feats
        self.memory_labels[slots] = labels
        self._mem_count += len(labels)

    def reset_memory(self) -> None:
        """Empty the memory."""
        self.memory_feats = None
        self.memory_labels = None
        self._mem_count = 0

    def extra_repr(self) -> str:
        return (f'num_samples={self.num_samples}, '
                f'loss_weight={self.loss_weight}, '
                f'memory_size={self.memory_size}')
