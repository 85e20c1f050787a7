"""VSE++ hinge triplet loss (optional, docs/methods/pir.md#8-contrastive-loss).

Faghri et al., "VSE++" (BMVC 2018), eq. 3-5.  With cosine scores
:math:`S_{ij} = v_i^\\top t_j` of unit embeddings, positives
:math:`P_{ij} = 1[l_i = l_j]` and margin :math:`\\alpha`:

.. math::

    c^{t}_{ij} = [\\alpha + S_{ij} - S_{ii}]_+ (1 - P_{ij}), \\qquad
    c^{v}_{ij} = [\\alpha + S_{ij} - S_{jj}]_+ (1 - P_{ij})

With ``max_violation`` only the hardest negative of each row (caption
negatives of an image) and column (image negatives of a caption) counts
(VSE++ "MH" loss, eq. 5); otherwise all negatives are summed (eq. 3).  The
row terms are summed (``reduction='sum'``, as released) or averaged.  In
distributed training the features are all-gathered with gradient.
"""
import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from .utils import gather_pairs, positive_mask, prepare_labels


@MODELS.register_module()
class VSETripletLoss(nn.Module):
    """Hinge triplet loss with (optionally) the hardest negatives.

    Args:
        margin (float): :math:`\\alpha` (0.2).
        max_violation (bool): hardest negative only (VSE++).
        reduction (str): ``'sum'`` or ``'mean'`` over anchors.
        loss_weight (float): multiplier.
    """

    default_name = 'triplet'
    inputs = ('img', 'txt')
    label_key = 'pid'

    def __init__(self,
                 margin: float = 0.2,
                 max_violation: bool = True,
                 reduction: str = 'sum',
                 loss_weight: float = 1.0):
        super().__init__()
        if reduction not in ('sum', 'mean'):
            raise ValueError(f'reduction must be "sum" or "mean", got '
                             f'{reduction!r}')
        self.margin = margin
        self.max_violation = max_violation
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, img_feats: torch.Tensor, txt_feats: torch.Tensor,
                labels=None) -> torch.Tensor:
        img = F.normalize(img_feats, dim=-1)
        txt = F.normalize(txt_feats, dim=-1)
        labels = prepare_labels(labels, img.shape[0], img.device)
        _, _, _, all_img, all_txt, all_lab = gather_pairs(
            img, txt, labels, local_loss=False)
        scores = all_img @ all_txt.t()
        diag = scores.diag()
        neg = 1 - positive_mask(all_lab, all_lab, scores.dtype)
        cost_t = (self.margin + scores - diag[:, None]).clamp(min=0) * neg
        cost_v = (self.margin + scores - diag[None, :]).clamp(min=0) * neg
        if self.max_violation:
            cost_t = cost_t.max(dim=1).values
            cost_v = cost_v.max(dim=0).values
        else:
            cost_t = cost_t.sum(dim=1)
            cost_v = cost_v.sum(dim=0)
        total = cost_t + cost_v
        loss = total.sum() if self.reduction == 'sum' else total.mean()
        return self.loss_weight * loss
