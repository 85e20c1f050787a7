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

Scale: by default the model's logit scale ``s`` (open_clip: one learnable
:math:`\\log s` on the model, clamped to :math:`[0, \\log 100]`), passed by
the retriever as ``logit_scale``; with a ``temperature`` of its own the loss
keeps a learnable or fixed scale (e.g. ``temperature=0.02, learnable=False``:
IRRA's fixed ``1/0.02 = 50``).  See docs/architecture.md#losses-and-the-
training-loop.  ``label_key=None`` in the config gives one-hot targets (only
the matched pair is positive, open_clip's ``ClipLoss``).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import (OwnOrModelScale, gather_pairs, positive_mask,
                    prepare_labels, soft_cross_entropy)


@MODELS.register_module()
class InfoNCELoss(OwnOrModelScale, nn.Module):
    """CLIP contrastive loss with multi-positive targets.

    Args:
        temperature (float, optional): None (default) = use the model's
            logit scale; else the initial (learnable) or fixed temperature
            :math:`\\tau` of a scale of the loss's own (``1/\\tau``).
        learnable (bool, optional): learn the own scale (parameter
            ``logit_scale``); default True; only with ``temperature``.
        max_logit_scale (float, optional): upper clamp of the own learnable
            scale (100); only with ``temperature``.
        local_loss (bool): score only local rows against global columns.
        loss_weight (float): multiplier of the loss.
    """

    default_name = 'itc'
    inputs = ('img', 'txt')
    label_key = 'pid'

    def __init__(self,
                 temperature: Optional[float] = None,
                 learnable: Optional[bool] = None,
                 max_logit_scale: Optional[float] = None,
                 local_loss: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        self.init_scale(temperature, learnable, max_logit_scale)
        self.local_loss = local_loss
        self.loss_weight = loss_weight

    def forward(self, img_feats: torch.Tensor, txt_feats: torch.Tensor,
                labels=None,
                logit_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Eq. above; ``logit_scale`` is the model's exp'd scale (required
        without an own ``temperature``, refused with one)."""
        img = F.normalize(img_feats, dim=-1)
        txt = F.normalize(txt_feats, dim=-1)
        labels = prepare_labels(labels, img.shape[0], img.device)
        r_img, r_txt, r_lab, a_img, a_txt, a_lab = gather_pairs(
            img, txt, labels, self.local_loss)
        targets = positive_mask(r_lab, a_lab, img.dtype)
        targets = targets / targets.sum(dim=1, keepdim=True)
        scale = self.resolve_scale(logit_scale)
        loss_i2t = soft_cross_entropy(scale * r_img @ a_txt.t(), targets)
        loss_t2i = soft_cross_entropy(scale * r_txt @ a_img.t(), targets)
        return self.loss_weight * 0.5 * (loss_i2t + loss_t2i)

    def extra_repr(self) -> str:
        scale = 'model' if self.uses_logit_scale else (
            'own, learnable' if self.learnable_scale else 'own, fixed')
        return (f'logit_scale={scale}, local_loss={self.local_loss}, '
                f'loss_weight={self.loss_weight}')
