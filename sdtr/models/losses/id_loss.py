"""Identity (instance) classification loss (IRRA, Jiang & Ye, CVPR 2023,
eq. 10; Zheng et al., dual-path, TOMM 2020).

One linear classifier :math:`W \\in \\mathbb{R}^{K \\times D}` is *shared*
by both modalities; with the (unnormalised) global features :math:`v_i, t_i`
and identity :math:`y_i`:

.. math::

    \\mathcal{L}_{ID} = \\frac{1}{2}\\left(
        \\mathrm{CE}(W v + b,\\, y) + \\mathrm{CE}(W t + b,\\, y)\\right)

with CE averaged over the batch.  **This loss owns the classifier**
(``self.classifier``, ``nn.Linear(in_channels, num_classes)``, weight
:math:`\\mathcal{N}(0, 0.001^2)`, bias 0 as IRRA), so it must live inside the
model (a retriever keeps its losses in an ``nn.ModuleDict``) to be trained,
saved and wrapped by DDP; the name ``classifier`` lets IRRA's schedule give
it a 5x learning rate (``custom_keys={'classifier': ...}``).  No all-gather
is needed: the loss is a per-sample mean, so DDP's gradient averaging already
equals the global-batch gradient.  IRRA computes it in fp16; here it runs in
the features' dtype.
"""
import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS


@MODELS.register_module()
class IDLoss(nn.Module):
    """Shared-classifier identity loss on image and text features.

    Args:
        in_channels (int): feature dimension (the embed dim, 512 for
            ViT-B/16).
        num_classes (int): number of training identities (contiguous
            ``0..num_classes-1``), e.g. 11003 for CUHK-PEDES.
        init_std (float): std of the classifier weight (0.001).
        label_smoothing (float): passed to ``F.cross_entropy`` (0).
        loss_weight (float): multiplier of the loss.
    """

    default_name = 'id'
    inputs = ('img', 'txt')
    label_key = 'pid'

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 init_std: float = 0.001,
                 label_smoothing: float = 0.0,
                 loss_weight: float = 1.0):
        super().__init__()
        self.classifier = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.classifier.weight, std=init_std)
        nn.init.zeros_(self.classifier.bias)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.loss_weight = loss_weight

    def forward(self, img_feats: torch.Tensor, txt_feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        if labels is None:
            raise ValueError('IDLoss needs identity labels')
        labels = torch.as_tensor(labels, device=img_feats.device).view(-1)
        if labels.numel() and (labels.min() < 0
                               or labels.max() >= self.num_classes):
            raise ValueError(
                f'IDLoss labels must lie in [0, {self.num_classes}), got '
                f'[{int(labels.min())}, {int(labels.max())}]')
        ce_img = F.cross_entropy(self.classifier(img_feats), labels,
                                 label_smoothing=self.label_smoothing)
        ce_txt = F.cross_entropy(self.classifier(txt_feats), labels,
                                 label_smoothing=self.label_smoothing)
        return self.loss_weight * 0.5 * (ce_img + ce_txt)
