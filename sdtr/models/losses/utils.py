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


def require_scale(logit_scale: Optional[torch.Tensor],
                  loss: nn.Module) -> torch.Tensor:
    """The model's scale a loss was given (the retriever passes its exp'd
    ``logit_scale``; docs/architecture.md#losses-and-the-training-loop)."""
    if logit_scale is None:
        raise ValueError(
            f'{type(loss).__name__} scales similarities by the model\'s '
            'logit scale: pass logit_scale= (the retriever passes its '
            'get_logit_scale())')
    return logit_scale
