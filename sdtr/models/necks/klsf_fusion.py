"""Key local information fusion of KLSF (EKLSR eq. 5-8).

Given the importance factors :math:`s_i` of all :math:`N` locals, the set
:math:`ID` of selected locals (eq. 3-4), the instance feature
:math:`f_{cls}` and the projected global feature :math:`f_g`:

.. math::

    f_{key} &= \\sum_{k \\in ID} \\frac{\\exp(s_k)}{\\sum_{i=1}^{N}
               \\exp(s_i)}\\, f_k + f_{cls}
               && \\text{(EKLSR eq. 5)} \\\\
    f_{keyh} &= \\mathrm{Dropout}(\\mathrm{GELU}(\\mathrm{Linear}(f_{key})))
               && \\text{(EKLSR eq. 6)} \\\\
    \\hat f_{key} &= \\mathrm{Linear}(f_{keyh})
               && \\text{(EKLSR eq. 7)} \\\\
    F &= \\hat f_{key} + f_g
               && \\text{(EKLSR eq. 8)}

The softmax runs over **all** valid locals (the denominator of eq. 5 sums
over :math:`i = 1..N`), while only the selected ones enter the numerator sum;
for text, :math:`N` is the true number of words of each caption (padding,
SOT and EOT are excluded).  One instance of this module serves one modality:
EKLSR uses two independent instances, so image features never depend on the
text and the gallery can be encoded offline.

In sdtr the towers return projected features, so :math:`f_{cls}` and
:math:`f_g` are the same vector (the projected class / EOT token) unless a
caller passes a different ``cls_feat``.
"""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from sdtr.registry import MODELS


@MODELS.register_module()
class KLSFFusion(BaseModule):
    """Fuse selected key locals with the global feature (EKLSR eq. 5-8).

    Args:
        in_channels (int): feature dimension :math:`D` of the locals and the
            global feature (the towers' ``embed_dim``).
        hidden_channels (int, optional): width of the hidden space of eq. 6
            ("a high-dimensional hidden space"; not given in the paper).
            Default ``4 * in_channels``.
        out_channels (int, optional): output dimension (default
            ``in_channels``; must equal the dimension of ``global_feat``).
        dropout (float): dropout of eq. 6 (default 0.1; not given in the
            paper).
        init_cfg (dict, optional): mmengine init config.

    Forward:
        local_feats (Tensor): ``[B, N, D]``.
        scores (Tensor): ``[B, N]`` importance factors of eq. 1-2.
        selected (Tensor): ``[B, N]`` bool, the selected locals (eq. 3-4).
        cls_feat (Tensor): ``[B, D]`` instance feature of eq. 5.
        global_feat (Tensor, optional): ``[B, D_out]`` global feature of
            eq. 8 (default ``cls_feat``).
        valid_mask (Tensor, optional): ``[B, N]`` bool, the locals that exist
            (denominator of eq. 5); default all.

    Returns:
        Tensor: ``[B, D_out]`` the final feature :math:`F` (eq. 8).
    """

    def __init__(self,
                 in_channels: int,
                 hidden_channels: Optional[int] = None,
                 out_channels: Optional[int] = None,
                 dropout: float = 0.1,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        hidden_channels = hidden_channels or 4 * in_channels
        out_channels = out_channels or in_channels
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.act = nn.GELU()
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_channels, out_channels)

    @staticmethod
    def key_weights(scores: torch.Tensor,
                    valid_mask: Optional[torch.Tensor] = None
                    ) -> torch.Tensor:
        """``softmax(s)`` over the valid locals of each row (eq. 5)."""
        if valid_mask is not None:
            scores = scores.masked_fill(~valid_mask.bool(), float('-inf'))
        weights = torch.softmax(scores, dim=-1)
        # a row without any valid local gives NaN; it selects nothing
        return torch.nan_to_num(weights, nan=0.0)

    def fuse(self,
             local_feats: torch.Tensor,
             scores: torch.Tensor,
             selected: torch.Tensor,
             cls_feat: torch.Tensor,
             valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """:math:`f_{key}` of eq. 5."""
        B, N, D = local_feats.shape
        if scores.shape != (B, N) or selected.shape != (B, N):
            raise ValueError(f'scores {tuple(scores.shape)} and selected '
                             f'{tuple(selected.shape)} must be [B, N] = '
                             f'{(B, N)}')
        if cls_feat.shape != (B, D):
            raise ValueError(f'cls_feat {tuple(cls_feat.shape)} must be '
                             f'[B, D] = {(B, D)}')
        if D != self.in_channels:
            raise ValueError(f'KLSFFusion built for in_channels='
                             f'{self.in_channels}, got features of dim {D}')
        weights = self.key_weights(scores, valid_mask)
        weights = weights * selected.to(weights.dtype)
        key = torch.einsum('bn,bnd->bd', weights.to(local_feats.dtype),
                           local_feats)
        return key + cls_feat

    def forward(self,
                local_feats: torch.Tensor,
                scores: torch.Tensor,
                selected: torch.Tensor,
                cls_feat: torch.Tensor,
                global_feat: Optional[torch.Tensor] = None,
                valid_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        f_key = self.fuse(local_feats, scores, selected, cls_feat,
                          valid_mask)
        f_hat = self.fc2(self.drop(self.act(self.fc1(f_key))))
        if global_feat is None:
            global_feat = cls_feat
        if global_feat.shape != f_hat.shape:
            raise ValueError(f'global_feat {tuple(global_feat.shape)} must be '
                             f'[B, out_channels] = {tuple(f_hat.shape)}')
        return f_hat + global_feat
