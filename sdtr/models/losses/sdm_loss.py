"""Similarity Distribution Matching (IRRA, Jiang & Ye, CVPR 2023, eq. 4-6).

With cosine similarities :math:`c_{ij} = \\cos(v_i, t_j)`, the model's
logit scale :math:`s = 1/\\tau` (IRRA: fixed, :math:`\\tau = 0.02`,
:math:`s = 50`; docs/architecture.md#losses-and-the-training-loop), identity
labels :math:`y_{ij} = 1[\\mathrm{pid}_i = \\mathrm{pid}_j]` and the true
matching distribution :math:`q_{ij} = y_{ij} / \\sum_k y_{ik}`:

.. math::

    p_{ij} &= \\mathrm{softmax}_j(s\\, c_{ij}) \\\\
    \\mathcal{L}_{i2t} &= \\frac{1}{N}\\sum_i \\sum_j p_{ij}
        \\left(\\log p_{ij} - \\log(q_{ij} + \\epsilon)\\right) \\\\
    \\mathcal{L}_{SDM} &= \\mathcal{L}_{i2t} + \\mathcal{L}_{t2i}

i.e. :math:`KL(p_i \\| q_i)` averaged over rows, both directions summed (not
averaged), :math:`\\epsilon = 10^{-8}`, as in IRRA's ``compute_sdm``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import (gather_pairs, kl_to_targets, positive_mask,
                    prepare_labels, require_scale)


@MODELS.register_module()
class SDMLoss(nn.Module):
    """IRRA's similarity distribution matching loss.

    Args:
        epsilon (float): added to :math:`q` inside the log (1e-8).
        local_loss (bool): score only local rows against global columns.
        loss_weight (float): multiplier of the loss.
    """

    default_name = 'sdm'
    inputs = ('img', 'txt')
    label_key = 'pid'
    uses_logit_scale = True

    def __init__(self,
                 epsilon: float = 1e-8,
                 local_loss: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        self.epsilon = epsilon
        self.local_loss = local_loss
        self.loss_weight = loss_weight

    def forward(self, img_feats: torch.Tensor, txt_feats: torch.Tensor,
                labels=None,
                logit_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Eq. 4-6; ``logit_scale`` is the model's exp'd scale."""
        s = require_scale(logit_scale, self)
        img = F.normalize(img_feats, dim=-1)
        txt = F.normalize(txt_feats, dim=-1)
        labels = prepare_labels(labels, img.shape[0], img.device)
        r_img, r_txt, r_lab, a_img, a_txt, a_lab = gather_pairs(
            img, txt, labels, self.local_loss)
        targets = positive_mask(r_lab, a_lab, img.dtype)
        targets = targets / targets.sum(dim=1, keepdim=True)
        loss_i2t = kl_to_targets(s * r_img @ a_txt.t(), targets,
                                 self.epsilon)
        loss_t2i = kl_to_targets(s * r_txt @ a_img.t(), targets,
                                 self.epsilon)
        return self.loss_weight * (loss_i2t + loss_t2i)

    def extra_repr(self) -> str:
        return (f'local_loss={self.local_loss}, '
                f'loss_weight={self.loss_weight}')
