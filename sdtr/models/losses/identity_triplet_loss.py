"""Batch-hard identity triplet loss on global visual features (the
"triplet loss" calibration that VFE-TPS compares IS-GVFC with, §4.5.4,
Fig. 7/8; Hermans et al., "In Defense of the Triplet Loss", 2017).

The paper does not define its triplet variant; this is the standard
person re-identification form.  With distances
:math:`d_{ij} = \\| \\hat f_i - \\hat f_j \\|_2` between L2-normalised global
visual features (``normalize=True``; raw features otherwise), every anchor
``i`` takes its hardest positive (same identity, ``j != i``) and hardest
negative:

.. math::

    \\mathcal{L}_{tri} = \\frac{1}{|A|}\\sum_{i \\in A}
        \\big[\\, m + \\max_{j:\\,y_j = y_i,\\, j\\ne i} d_{ij}
               - \\min_{k:\\,y_k \\ne y_i} d_{ik} \\big]_+

(``margin=None`` uses the soft margin :math:`\\log(1 + e^{x})` instead of
the hinge).  ``A`` holds the anchors that have at least one positive and one
negative in the batch; a batch without any such anchor gives a zero loss
that still depends on the features (no graph break).  Use it with an
identity-balanced sampler (``IdentityBalancedSampler``), otherwise most
anchors have no positive; after each forward :attr:`log_vars` holds
``pos_frac``, the fraction of anchors with a positive (logged by the
retriever as ``<name>_pos_frac``, as for IS-GVFC).  Local to each rank
(DDP-safe).
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS


@MODELS.register_module()
class IdentityTripletLoss(nn.Module):
    """Batch-hard triplet loss over identities of image features.

    Args:
        margin (float, optional): hinge margin (0.3); None = soft margin.
        normalize (bool): L2-normalise the features first (True).
        loss_weight (float): multiplier of the loss.
    """

    default_name = 'triplet'
    inputs = ('img', )
    label_key = 'pid'

    def __init__(self,
                 margin: Optional[float] = 0.3,
                 normalize: bool = True,
                 loss_weight: float = 1.0):
        super().__init__()
        self.margin = margin
        self.normalize = normalize
        self.loss_weight = loss_weight
        self.log_vars: Dict[str, torch.Tensor] = {}

    def forward(self, img_feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        if labels is None:
            raise ValueError('IdentityTripletLoss needs identity labels')
        labels = torch.as_tensor(labels, device=img_feats.device).view(-1)
        if labels.numel() != img_feats.shape[0]:
            raise ValueError(f'{labels.numel()} labels for '
                             f'{img_feats.shape[0]} features')
        x = F.normalize(img_feats, dim=-1) if self.normalize else img_feats
        # clamp before sqrt: d_ii = 0 has an infinite sqrt gradient
        dist = torch.cdist(x, x).clamp_min(1e-12)
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool, device=x.device)
        pos = same & ~eye
        neg = ~same
        valid = pos.any(dim=1) & neg.any(dim=1)
        self.log_vars = dict(pos_frac=pos.any(dim=1).float().mean())
        if not valid.any():
            return img_feats.sum() * 0.0
        hardest_pos = dist.masked_fill(~pos, float('-inf')).amax(dim=1)
        hardest_neg = dist.masked_fill(~neg, float('inf')).amin(dim=1)
        gap = (hardest_pos - hardest_neg)[valid]
        if self.margin is None:
            loss = F.softplus(gap)
        else:
            loss = F.relu(gap + self.margin)
        return self.loss_weight * loss.mean()

    def extra_repr(self) -> str:
        return (f'margin={self.margin}, normalize={self.normalize}, '
                f'loss_weight={self.loss_weight}')
