"""Shared pieces of the cross-modal matching losses (not registered).

Every loss takes ``(img_feats [B, D], txt_feats [B, D], labels [B])`` where
row ``i`` of both is a matched image-caption pair and ``labels`` (identity
``pid``, or ``image_id``) defines the positives: ``y_ij = 1[l_i = l_j]``.
``labels=None`` means "only the diagonal is positive" (labels are then made
unique across ranks).

In distributed training the features are all-gathered with gradients
(:func:`sdtr.models.utils.gather_with_grad`) and the labels without
(:func:`~sdtr.models.utils.gather_no_grad`).  With ``local_loss=False`` every
rank scores the full global ``WB x WB`` matrix; with ``local_loss=True`` a
rank scores only its own ``B`` rows against the ``WB`` global columns
(open_clip's ``--local-loss``), which costs ``W`` times less and, after
DDP's gradient averaging, gives the same gradient as the full loss (the row
mean over ranks is the global row mean).
"""
import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.distributed import (gather_no_grad, gather_with_grad,
                                 get_rank_and_world_size)


def prepare_labels(labels: Optional[torch.Tensor], batch_size: int,
                   device) -> torch.Tensor:
    """Labels as a 1-D LongTensor; unique per sample when ``None``."""
    if labels is None:
        rank, _ = get_rank_and_world_size()
        return torch.arange(batch_size, device=device) + rank * batch_size
    labels = torch.as_tensor(labels, device=device).view(-1)
    if labels.numel() != batch_size:
        raise ValueError(f'{labels.numel()} labels for {batch_size} samples')
    return labels


def gather_pairs(img: torch.Tensor, txt: torch.Tensor, labels: torch.Tensor,
                 local_loss: bool) -> Tuple[torch.Tensor, ...]:
    """Rows and columns of the similarity matrices.

    Returns:
        tuple: ``(row_img, row_txt, row_labels, all_img, all_txt,
        all_labels)``; rows are the local batch with ``local_loss`` and the
        global batch otherwise.
    """
    all_img = gather_with_grad(img)
    all_txt = gather_with_grad(txt)
    all_labels = gather_no_grad(labels)
    if local_loss:
        return img, txt, labels, all_img, all_txt, all_labels
    return all_img, all_txt, all_labels, all_img, all_txt, all_labels


def positive_mask(row_labels: torch.Tensor,
                  col_labels: torch.Tensor,
                  dtype=torch.float32) -> torch.Tensor:
    """``Y_ij = 1[row_labels_i == col_labels_j]``."""
    return (row_labels[:, None] == col_labels[None, :]).to(dtype)


def soft_cross_entropy(logits: torch.Tensor,
                       targets: torch.Tensor) -> torch.Tensor:
    """``mean_i ( - sum_j q_ij log softmax(logits)_ij )``."""
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def kl_to_targets(logits: torch.Tensor, targets: torch.Tensor,
                  eps: float) -> torch.Tensor:
    """``mean_i sum_j p_ij (log p_ij - log(q_ij + eps))``, ``p = softmax``.

    The KL divergence ``KL(p_i || q_i)`` of IRRA's SDM and of CMPM, with
    ``eps`` guarding ``log 0`` for the negatives.
    """
    log_p = F.log_softmax(logits, dim=1)
    loss = log_p.exp() * (log_p - torch.log(targets + eps))
    return loss.sum(dim=1).mean()


class LogitScaleMixin:
    """A logit scale :math:`s = 1/\\tau` stored as :math:`\\log s` in
    ``logit_scale`` (open_clip's name and parametrisation).

    Learnable: an ``nn.Parameter`` initialised to :math:`\\log(1/\\tau)`,
    clamped to :math:`[0, \\log s_{max}]` when read (open_clip clamps it
    after every step).  Fixed: a non-persistent buffer (IRRA's ``1/0.02 =
    50``).  Used by the retrievers (the model's scale, docs/architecture.md#
    losses-and-the-training-loop) and by the losses whose config gives them
    a temperature of their own.
    """

    def init_logit_scale(self, temperature: float, learnable: bool = True,
                         max_scale: float = 100.) -> None:
        """Register ``logit_scale`` (needs ``nn.Module.__init__`` done)."""
        if not temperature > 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.learnable_scale = bool(learnable)
        self.max_log_scale = math.log(max_scale)
        init = torch.tensor(math.log(1.0 / temperature))
        if self.learnable_scale:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer('logit_scale', init, persistent=False)

    def get_logit_scale(self) -> torch.Tensor:
        """:math:`s = \\exp(\\mathrm{clamp}(\\log s, 0, \\log s_{max}))`
        (learnable) or :math:`\\exp(\\log s)` (fixed)."""
        if self.learnable_scale:
            return self.logit_scale.clamp(0, self.max_log_scale).exp()
        return self.logit_scale.exp()


class OwnOrModelScale(LogitScaleMixin):
    """A loss that uses the model's logit scale unless its config gives it a
    temperature of its own (docs/architecture.md#losses-and-the-training-
    loop).

    ``temperature=None`` (default): ``uses_logit_scale`` is True and the
    retriever passes ``logit_scale=`` (exp'd, clamped) to ``forward``;
    ``learnable`` and ``max_logit_scale`` must then stay unset.  A
    ``temperature``: the loss owns ``logit_scale`` (learnable by default).
    """

    def init_scale(self, temperature: Optional[float],
                   learnable: Optional[bool],
                   max_logit_scale: Optional[float]) -> None:
        self.uses_logit_scale = temperature is None
        if self.uses_logit_scale:
            if learnable is not None or max_logit_scale is not None:
                raise ValueError(
                    f'{type(self).__name__}: learnable / max_logit_scale '
                    'apply to a temperature of the loss\'s own; without '
                    '`temperature` it uses the model\'s logit scale '
                    '(model.logit_scale=dict(init_temperature=..., '
                    'learnable=..., max_scale=...))')
            return
        self.init_logit_scale(
            temperature, True if learnable is None else learnable,
            100. if max_logit_scale is None else max_logit_scale)

    def resolve_scale(self, logit_scale: Optional[torch.Tensor]
                      ) -> torch.Tensor:
        """The scale to use: the model's (given) or the loss's own."""
        if self.uses_logit_scale:
            if logit_scale is None:
                raise ValueError(
                    f'{type(self).__name__} has no temperature of its own: '
                    'pass logit_scale= (the model\'s exp\'d scale, as the '
                    'retriever does) or configure `temperature`')
            return logit_scale
        if logit_scale is not None:
            raise ValueError(
                f'{type(self).__name__} has its own temperature; it does not '
                'take the model\'s logit_scale (drop `temperature` to use it)')
        return self.get_logit_scale()
