"""Cross-Modal Projection Matching (Zhang & Lu, ECCV 2018), two forms.

``mode='paper'`` (VFE-TPS paper, eq. 6-9): with
:math:`y_{ij} = 1[\\mathrm{pid}_i = \\mathrm{pid}_j]` and
:math:`q_{ij} = y_{ij} / \\sum_k y_{ik}`,

.. math::

    p_{ij} &= \\frac{\\exp(\\cos(f^v_i, f^t_j)/\\tau)}
                   {\\sum_k \\exp(\\cos(f^v_i, f^t_k)/\\tau)} \\\\
    \\mathcal{L}_{I2T} &= \\frac{1}{B}\\sum_i \\sum_j p_{ij}
        \\log\\frac{p_{ij}}{q_{ij} + \\epsilon}, \\qquad
    \\mathcal{L}_{CMPM} = \\mathcal{L}_{I2T} + \\mathcal{L}_{T2I}.

(The paper's eq. 7 prints an extra :math:`1/B` inside :math:`\\mathcal{L}_i`;
we follow the original CMPM definition, one :math:`1/B` over the rows.)
:math:`1/\\tau` is the model's logit scale (docs/architecture.md#losses-
and-the-training-loop); the paper gives no :math:`\\tau`, the VFE-TPS
configs fix it at 0.02, the temperature of the IRRA/VFE-TPS code base.

``mode='irra'`` (IRRA/VFE-TPS ``compute_cmpm``, as coded): no temperature,
the *unnormalised* anchor is projected on the normalised other modality and
the labels are L2-normalised,

.. math::

    P^{i2t}_{ij} = v_i^\\top \\frac{t_j}{\\|t_j\\|},\\quad
    q_{ij} = \\frac{y_{ij}}{\\|y_i\\|_2},\\quad
    \\mathcal{L}_{i2t} = \\frac{1}{B}\\sum_i\\sum_j
        \\mathrm{softmax}(P^{i2t})_{ij}
        \\left(\\log\\mathrm{softmax}(P^{i2t})_{ij} - \\log(q_{ij}+\\epsilon)
        \\right)

and likewise for text-to-image; the two directions are summed.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import (gather_pairs, kl_to_targets, positive_mask,
                    prepare_labels, require_scale)

MODES = ('paper', 'irra')


@MODELS.register_module()
class CMPMLoss(nn.Module):
    """Cross-modal projection matching loss.

    Args:
        mode (str): ``'paper'`` (cosine times the model's logit scale,
            sum-normalised labels) or ``'irra'`` (IRRA's code, no scale).
        epsilon (float): added to :math:`q` inside the log (1e-8).
        local_loss (bool): score only local rows against global columns.
        loss_weight (float): multiplier of the loss.
    """

    default_name = 'cmpm'
    inputs = ('img', 'txt')
    label_key = 'pid'

    def __init__(self,
                 mode: str = 'paper',
                 epsilon: float = 1e-8,
                 local_loss: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        self.mode = mode
        #: only the paper's form scales similarities
        self.uses_logit_scale = mode == 'paper'
        self.epsilon = epsilon
        self.local_loss = local_loss
        self.loss_weight = loss_weight

    def forward(self, img_feats: torch.Tensor, txt_feats: torch.Tensor,
                labels=None,
                logit_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Eq. 6-9 (``'paper'``: ``logit_scale`` is the model's exp'd
        scale) or IRRA's ``compute_cmpm`` (``'irra'``: no scale)."""
        labels = prepare_labels(labels, img_feats.shape[0], img_feats.device)
        r_img, r_txt, r_lab, a_img, a_txt, a_lab = gather_pairs(
            img_feats, txt_feats, labels, self.local_loss)
        y = positive_mask(r_lab, a_lab, img_feats.dtype)
        if self.mode == 'paper':
            scale = require_scale(logit_scale, self)
            targets = y / y.sum(dim=1, keepdim=True)
            logits_i2t = scale * F.normalize(r_img, dim=-1) @ F.normalize(
                a_txt, dim=-1).t()
            logits_t2i = scale * F.normalize(r_txt, dim=-1) @ F.normalize(
                a_img, dim=-1).t()
        else:
            if logit_scale is not None:
                raise ValueError("CMPMLoss(mode='irra') takes no logit scale")
            targets = y / y.norm(dim=1, keepdim=True)
            logits_i2t = r_img @ F.normalize(a_txt, dim=-1).t()
            logits_t2i = r_txt @ F.normalize(a_img, dim=-1).t()
        loss = kl_to_targets(logits_i2t, targets, self.epsilon) + \
            kl_to_targets(logits_t2i, targets, self.epsilon)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'mode={self.mode!r}, local_loss={self.local_loss}, '
                f'loss_weight={self.loss_weight}')
