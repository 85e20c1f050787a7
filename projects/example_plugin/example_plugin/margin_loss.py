import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS


@MODELS.register_module()
class ExampleMarginRankingLoss(nn.Module):
    """Hinge ranking loss with the hardest negative (VSE++), as a plugin.

    ``L = mean_i [m - s(i, i) + max_{j: y_j != y_i} s(i, j)]_+`` in both
    directions, with ``s`` the cosine similarity and ``y`` the labels that
    define positives.

    Args:
        margin (float): the margin ``m``.
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, margin=0.2, loss_weight=1.0):
        super().__init__()
        self.margin = margin
        self.loss_weight = loss_weight

    def forward(self, img_feats, txt_feats, labels):
        img = F.normalize(img_feats, dim=-1)
        txt = F.normalize(txt_feats, dim=-1)
        sims = img @ txt.t()
        pos = sims.diag()
        neg_mask = labels[:, None] != labels[None, :]
        neg = sims.masked_fill(~neg_mask, float('-inf'))
        hardest_i2t = neg.max(1).values.clamp(min=-1.0)
        hardest_t2i = neg.max(0).values.clamp(min=-1.0)
        loss = (F.relu(self.margin - pos + hardest_i2t) +
                F.relu(self.margin - pos + hardest_t2i)).mean()
        return loss * self.loss_weight
