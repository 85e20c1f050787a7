"""Image-only identity loss (the "ID loss" calibration that VFE-TPS compares
IS-GVFC with, §4.5.4, Fig. 7/8; the released code's ``gi2id``).

.. math::  \\mathcal{L}_{ID}^{v} = \\mathrm{CE}(W f^v + b,\\; y)

It reuses :class:`~sdtr.models.losses.IDLoss` (its classifier, init and
label checks): the shared-classifier loss with the image features in both
slots is :math:`\\frac{1}{2}(\\mathrm{CE}(Wv) + \\mathrm{CE}(Wv))`, i.e. the
image-only cross entropy above.  Call it as ``loss(img_feats, labels)``.
"""
import torch

from sdtr.registry import MODELS
from .id_loss import IDLoss


@MODELS.register_module()
class VisualIDLoss(IDLoss):
    """Identity classification of global image features only.

    Args: as :class:`IDLoss` (``in_channels``, ``num_classes``,
    ``init_std``, ``label_smoothing``, ``loss_weight``).
    """

    default_name = 'visual_id'
    inputs = ('img', )
    label_key = 'pid'

    def forward(self, img_feats: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        return super().forward(img_feats, img_feats, labels)
