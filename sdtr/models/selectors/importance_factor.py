"""Importance factors of local features (EKLSR eq. 1-2).

For an instance-level feature :math:`f_{cls}` and local features
:math:`f_i` of the same image (text),

.. math::

    s_i^v = 1 - \\cos(f_{cls}^v, f_i^v) \\qquad \\text{(EKLSR eq. 1)}

    s_i^t = 1 - \\cos(f_{cls}^t, f_i^t) \\qquad \\text{(EKLSR eq. 2)}

so :math:`s_i \\in [0, 2]`: a local feature that differs from the instance
feature (carries information the summary does not already hold) gets a
large factor.

Which tokens are "locals" and which is the instance feature:

* **image**: the patch tokens of the ViT (positions ``1..N`` of the tower
  output); the instance feature is the class token (position 0);
* **text**: the word tokens strictly between the start (SOT) and end (EOT)
  tokens; SOT, EOT and padding are never locals (``valid_mask`` is False
  there).  The paper names the start token as the text instance feature,
  but CLIP's text transformer is causal, so the SOT output has attended to
  nothing but itself and carries no sentence information.  We use the EOT
  token instead, which is CLIP's own sentence feature (the tower's
  ``global``); this is the only reading under which eq. 2 measures anything.

Both use the features the sdtr CLIP towers return (after ``ln_post`` /
``ln_final`` and the projection), so the factors, the fusion (eq. 5) and the
retrieval space are one space.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.registry import MODELS


@MODELS.register_module()
class ImportanceFactor(nn.Module):
    """``s_i = 1 - cos(f_cls, f_i)`` for every local feature (EKLSR eq. 1-2).

    Args:
        detach (bool): compute the factors without gradient (default True).
            The factors are a *prior* read from the backbone (the paper calls
            them "hidden knowledge" of CLIP); they decide which locals are
            selected and weight them in eq. 5.  With ``detach=False`` the
            softmax weights of eq. 5 also back-propagate into the cosine.
        eps (float): numerical floor of the norms in the cosine.

    Forward:
        global_feat (Tensor): ``[B, D]`` instance features.
        local_feats (Tensor): ``[B, N, D]`` local features.
        valid_mask (Tensor, optional): ``[B, N]`` bool, True for real locals.

    Returns:
        Tensor: ``[B, N]`` factors; invalid positions are 0.
    """

    def __init__(self, detach: bool = True, eps: float = 1e-8):
        super().__init__()
        self.detach = detach
        self.eps = eps

    def forward(self,
                global_feat: torch.Tensor,
                local_feats: torch.Tensor,
                valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        if global_feat.dim() != 2 or local_feats.dim() != 3:
            raise ValueError('ImportanceFactor expects global_feat [B, D] and '
                             f'local_feats [B, N, D], got '
                             f'{tuple(global_feat.shape)} and '
                             f'{tuple(local_feats.shape)}')
        if global_feat.shape[0] != local_feats.shape[0] or \
                global_feat.shape[1] != local_feats.shape[2]:
            raise ValueError(f'global_feat {tuple(global_feat.shape)} does '
                             'not match local_feats '
                             f'{tuple(local_feats.shape)} (batch and dim)')
        if self.detach:
            global_feat = global_feat.detach()
            local_feats = local_feats.detach()
        cos = F.cosine_similarity(
            local_feats, global_feat.unsqueeze(1), dim=-1, eps=self.eps)
        scores = 1.0 - cos
        if valid_mask is not None:
            if valid_mask.shape != scores.shape:
                raise ValueError(f'valid_mask {tuple(valid_mask.shape)} must '
                                 f'be [B, N] = {tuple(scores.shape)}')
            scores = scores.masked_fill(~valid_mask.bool(), 0.)
        return scores

    def extra_repr(self) -> str:
        return f'detach={self.detach}'
