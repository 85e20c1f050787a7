"""Symmetric multi-positive InfoNCE (CLIP contrastive) loss.

With L2-normalised image/text features :math:`v_i, t_j`, logit scale
:math:`s = 1/\\tau` and the positive set :math:`P(i) = \\{j : l_j = l_i\\}`
(same ``pid`` / ``image_id``), the target distribution is uniform over the
positives, :math:`q_{ij} = y_{ij} / \\sum_k y_{ik}`, and

.. math::

    \\mathcal{L}_{i2t} = -\\frac{1}{N}\\sum_i \\sum_j q_{ij}
        \\log \\frac{\\exp(s\\, v_i^\\top t_j)}
                    {\\sum_k \\exp(s\\, v_i^\\top t_k)},
    \\qquad
    \\mathcal{L} = \\tfrac{1}{2}(\\mathcal{L}_{i2t} + \\mathcal{L}_{t2i})

(Radford et al., 2021, Fig. 3; with one positive per row this is CLIP's loss,
with several it is the multi-positive form used by PIR-ITR's contrastive
loss).

Scale: the model's logit scale ``s`` (learned as open_clip's clamped
:math:`\\log s`, or fixed as IRRA's ``1/0.02 = 50``), passed by the
retriever as ``logit_scale``; see docs/architecture.md#losses-and-the-
training-loop.  ``label_key=None`` in the config gives one-hot targets
(only the matched pair is positive, open_clip's ``ClipLoss``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import (gather_pairs, positive_mask, prepare_labels,
                    require_scale, soft_cross_entropy)


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """CLIP contrastive loss with multi-positive targets.

    Args:
        local_loss (bool): score only local rows against global columns.
        loss_weight (float): multiplier of the loss.
    """

    default_name = 'itc'
    inputs = ('img', 'txt')
    label_key = 'pid'
    uses_logit_scale = True

    def __init__(self, local_loss: bool = False, loss_weight: float = 1.0):
        super().__init__()
        self.local_loss = local_loss
        self.loss_weight = loss_weight

    def forward(self, img_feats: torch.Tensor, txt_feats: torch.Tensor,
                labels=None,
                logit_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Eq. above; ``logit_scale`` is the model's exp'd scale."""
        scale = require_scale(logit_scale, self)
        img = F.normalize(img_feats, dim=-1)
        txt = F.normalize(txt_feats, dim=-1)
        labels = prepare_labels(labels, img.shape[0], img.device)
        r_img, r_txt, r_lab, a_img, a_txt, a_lab = gather_pairs(
            img, txt, labels, self.local_loss)
        targets = positive_mask(r_lab, a_lab, img.dtype)
        targets = targets / targets.sum(dim=1, keepdim=True)
        loss_i2t = soft_cross_entropy(scale * r_img @ a_txt.t(), targets)
        loss_t2i = soft_cross_entropy(scale * r_txt @ a_img.t(), targets)
        return self.loss_weight * 0.5 * (loss_i2t + loss_t2i)

    def extra_repr(self) -> str:
        return (f'local_loss={self.local_loss}, '
                f'loss_weight={self.loss_weight}')
