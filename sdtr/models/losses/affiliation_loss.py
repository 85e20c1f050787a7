"""PIR affiliation loss: pull samples towards the centre of their scene.

PIR (eq. 16-17, §IV-D, "cluster-wise affiliation loss"; the formula is
rebuilt from the releases, docs/methods/pir.md#9-affiliation-loss).  With
the unit image/text embeddings :math:`v_i, t_i` of the
global batch (all ranks, ``N`` samples) and scene labels :math:`y_i`, the
class centres of each sample are

.. math::

    C^I_i = \\frac{1}{n_i}\\sum_{j: y_j = y_i} v_j, \\qquad
    C^T_i = \\frac{1}{n_i}\\sum_{j: y_j = y_i} t_j, \\qquad
    n_i = |\\{j: y_j = y_i\\}|

and, with the scale :math:`s = 1/\\tau`,

.. math::

    \\mathcal L_{i2t} = -\\frac1N\\sum_i \\log
        \\mathrm{softmax}_k(s\\, v_i^\\top C^T_k)_{k=i}, \\qquad
    \\mathcal L_{t2i} = -\\frac1N\\sum_i \\log
        \\mathrm{softmax}_k(s\\, t_i^\\top C^I_k)_{k=i}

:math:`\\mathcal L = \\tfrac12(\\mathcal L_{i2t} + \\mathcal L_{t2i})`
(``t2i_mode='paper'``, which is also PIR-CLIP's released form).
``t2i_mode='released_pir_itr'`` reproduces the ``.t()`` of the released
PIR-ITR (§1.6): :math:`-\\frac1N\\sum_i\\log\\mathrm{softmax}_k(s\\,
C^{I\\top}_i t_k)_{k=i}`, a softmax over texts for each image centre.
Same-class columns are duplicates, so the loss cannot reach 0.

Centres are computed over the **global** batch (features all-gathered with
gradient by :func:`sdtr.models.utils.gather_with_grad`); the released code
computes them per rank before gathering (``local_centers=True``).

Scale (docs/architecture.md#losses-and-the-training-loop): the model's
logit scale, passed by the retriever as ``logit_scale`` (PIR-CLIP: the CLIP
scale the contrastive loss uses too; PIR-ITR: ``separate_scale=True`` in
the loss config gives it a model scale of its own, as the release's second
learnable temperature; the release divides by an unclamped raw
:math:`\\tau`).  Labels: the scene ``label`` of each sample
(``label_key='label'``), never the identities.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS
from ..utils.distributed import gather_no_grad, gather_with_grad
from .utils import require_scale

T2I_MODES = ('paper', 'released_pir_itr')


def class_centres(feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-sample class mean: row ``i`` is the mean of ``feats[j]`` over
    ``labels[j] == labels[i]`` (unnormalised)."""
    same = (labels[:, None] == labels[None, :]).to(feats.dtype)
    return same @ feats / same.sum(dim=1, keepdim=True)


@MODELS.register_module()
class AffiliationLoss(nn.Module):
    """Cluster-wise affiliation loss of PIR.

    Args:
        t2i_mode (str): ``'paper'`` or ``'released_pir_itr'`` (the
            transposed text-to-image term of the released PIR-ITR).
        local_centers (bool): compute centres per rank before gathering (as
            released) instead of over the global batch.
        loss_weight (float): multiplier (``center_factor`` = 1 in PIR).
    """

    default_name = 'affil'
    inputs = ('img', 'txt')
    label_key = 'label'
    #: scene classes only: identities (``pid``/``image_id``) make every
    #: centre a single pair and the loss a second InfoNCE (a build error)
    label_choices = ('label', )
    uses_logit_scale = True

    def __init__(self,
                 t2i_mode: str = 'paper',
                 local_centers: bool = False,
                 loss_weight: float = 1.0):
        super().__init__()
        if t2i_mode not in T2I_MODES:
            raise ValueError(f't2i_mode must be one of {T2I_MODES}, got '
                             f'{t2i_mode!r}')
        self.t2i_mode = t2i_mode
        self.local_centers = local_centers
        self.loss_weight = loss_weight

    def forward(self,
                img_feats: torch.Tensor,
                txt_feats: torch.Tensor,
                scene_labels: torch.Tensor,
                logit_scale: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Affiliation loss of a local batch (gathered here).

        Args:
            img_feats (Tensor): ``[B, D]`` image embeddings of this rank.
            txt_feats (Tensor): ``[B, D]`` matched text embeddings.
            scene_labels (Tensor): ``[B]`` scene class ids (>= 0).
            logit_scale (Tensor): the model's exp'd scale.
        """
        scale = require_scale(logit_scale, self)
        if img_feats.shape != txt_feats.shape or img_feats.dim() != 2:
            raise ValueError(
                'AffiliationLoss expects img_feats and txt_feats [B, D] of '
                f'equal shape, got {tuple(img_feats.shape)} and '
                f'{tuple(txt_feats.shape)}')
        labels = torch.as_tensor(scene_labels,
                                 device=img_feats.device).view(-1).long()
        if labels.numel() != img_feats.shape[0]:
            raise ValueError(f'{labels.numel()} scene labels for '
                             f'{img_feats.shape[0]} samples')
        if (labels < 0).any():
            raise ValueError(
                'AffiliationLoss needs a scene label >= 0 for every sample; '
                'got -1 (unknown scene): set the dataset scene_rule (e.g. '
                '"prefix") so labels come from the image file names')
        img = F.normalize(img_feats, dim=-1)
        txt = F.normalize(txt_feats, dim=-1)
        all_img = gather_with_grad(img)
        all_txt = gather_with_grad(txt)
        if self.local_centers:
            c_img = gather_with_grad(class_centres(img, labels))
            c_txt = gather_with_grad(class_centres(txt, labels))
        else:
            all_labels = gather_no_grad(labels)
            c_img = class_centres(all_img, all_labels)
            c_txt = class_centres(all_txt, all_labels)
        target = torch.arange(all_img.shape[0], device=img.device)
        loss_i2t = F.cross_entropy(scale * all_img @ c_txt.t(), target)
        t2i = scale * all_txt @ c_img.t()
        if self.t2i_mode == 'released_pir_itr':
            t2i = t2i.t()
        loss_t2i = F.cross_entropy(t2i, target)
        return self.loss_weight * 0.5 * (loss_i2t + loss_t2i)

    def extra_repr(self) -> str:
        return (f't2i_mode={self.t2i_mode!r}, local_centers='
                f'{self.local_centers}, loss_weight={self.loss_weight}')
