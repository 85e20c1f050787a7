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
loss).  ``s`` is either learnable, stored as :math:`\\log s` initialised to
:math:`\\log(1/0.07)` and clamped to :math:`[0, \\log 100]` in the forward as
open_clip clamps it after every step, or fixed (e.g. ``1/0.02 = 50`` for
IRRA's ITC baseline).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import gather_pairs, positive_mask, prepare_labels, \
    soft_cross_entropy


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """CLIP contrastive loss with multi-positive targets.

    Args:
        temperature (float): initial (learnable) or fixed temperature
            :math:`\\tau`; the logit scale is :math:`1/\\tau`.
        learnable (bool): learn :math:`\\log(1/\\tau)` (parameter
            ``logit_scale``, open_clip's name and parametrisation).
        max_logit_scale (float): upper clamp of the scale (100).
        local_loss (bool): score only local rows against global columns.
        loss_weight (float): multiplier of the loss.
    """

    default_name = 'itc'

    def __init__(self,
                 temperature: float = 0.07,
                 learnable: bool = True,
                 max_logit_scale: float = 100.,
                 local_loss: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        self.learnable = learnable
        self.max_log_scale = math.log(max_logit_scale)
        self.local_loss = local_loss
        self.loss_weight = loss_weight
        init = torch.tensor(math.log(1.0 / temperature))
        if learnable:
            self.logit_scale = nn.Parameter(init)
        else:
            self.register_buffer('logit_scale', init, persistent=False)

    def get_logit_scale(self) -> torch.Tensor:
        """:math:`s = \\exp(\\mathrm{clamp}(\\log s, 0, \\log s_{max}))`."""
        if self.learnable:
            return self.logit_scale.clamp(0, self.max_log_scale).exp()
        return self.logit_scale.exp()

    def forward(self, img_feats: torch.Tensor, txt_feats: torch.Tensor,
                labels=None) -> torch.Tensor:
        img = F.normalize(img_feats, dim=-1)
        txt = F.normalize(txt_feats, dim=-1)
        labels = prepare_labels(labels, img.shape[0], img.device)
        r_img, r_txt, r_lab, a_img, a_txt, a_lab = gather_pairs(
            img, txt, labels, self.local_loss)
        targets = positive_mask(r_lab, a_lab, img.dtype)
        targets = targets / targets.sum(dim=1, keepdim=True)
        scale = self.get_logit_scale()
        loss_i2t = soft_cross_entropy(scale * r_img @ a_txt.t(), targets)
        loss_t2i = soft_cross_entropy(scale * r_txt @ a_img.t(), targets)
        return self.loss_weight * 0.5 * (loss_i2t + loss_t2i)

    def extra_repr(self) -> str:
        return (f'learnable={self.learnable}, local_loss={self.local_loss}, '
                f'loss_weight={self.loss_weight}')
