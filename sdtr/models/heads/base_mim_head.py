"""Shared contract and loss of the masked-image-modelling heads (VFE-TPS
§3.2.1 eq. 3 and the SimMIM / MAE variants of §4.5.3).

Not registered: :class:`~sdtr.models.heads.TGMIMHead`,
:class:`~sdtr.models.heads.SimMIMHead` and :class:`~sdtr.models.heads.MAEHead`
are the public components.  A head implements the ``MIMHead`` interface
(``sdtr/models/interfaces.py``, docs/architecture.md#component-interfaces):

* ``forward(visual_tokens, grid_size, text_tokens=None, text_mask=None,
  **kw) -> pred [B, 3, h*P, w*P]`` (normalised pixels);
* ``loss(pred, target, pixel_mask)``: the masked-pixel reconstruction loss
  of VFE-TPS eq. 3, with the pixel mask :math:`M` (1 on masked pixels),

  .. math::

      \\mathcal{L} = \\frac{\\sum |Y - X| \\odot M}{3 \\sum M}

  (mmpretrain ``PixelReconstructionLoss``; ``criterion='L2'`` is MAE's
  squared error), times ``loss_weight``;
* ``requires_visible_only``: the encoder must see the visible patches only
  (MAE), so the retriever checks the mask generator's mode at build time;
* ``text_guided``: whether ``forward`` uses the caption tokens.
"""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseModule

from sdtr.registry import MODELS


class BaseMIMHead(BaseModule):
    """Pixel reconstruction head: stores the common settings and computes
    the masked-pixel loss; subclasses define the decoder and ``forward``.

    Args:
        visual_dim (int): width of the image tokens the head receives.
        patch_size (int): model patch size P.
        loss (dict): pixel loss config (``PixelReconstructionLoss``).
        loss_weight (float): multiplier of the loss.
        init_cfg (dict, optional): mmengine init config.
    """

    #: the encoder sees the visible patches only (MAE's ``mode='drop'``)
    requires_visible_only = False
    #: ``forward`` uses the caption tokens
    text_guided = False

    def __init__(self,
                 visual_dim: int,
                 patch_size: int,
                 loss: dict,
                 loss_weight: float = 1.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.visual_dim = visual_dim
        self.patch_size = patch_size
        self.loss_weight = loss_weight
        self.loss_module = MODELS.build(loss)  # no parameters

    def forward(self,
                visual_tokens: torch.Tensor,
                grid_size: Sequence[int],
                text_tokens: Optional[torch.Tensor] = None,
                text_mask: Optional[torch.Tensor] = None,
                **kwargs) -> torch.Tensor:
        """``[B, T, visual_dim]`` tokens on a ``(h, w)`` patch grid ->
        ``[B, 3, h*P, w*P]`` predicted pixels."""
        raise NotImplementedError

    def loss(self, pred: torch.Tensor, target: torch.Tensor,
             pixel_mask: torch.Tensor) -> torch.Tensor:
        """VFE-TPS eq. 3: pixel loss over masked pixels only, times
        ``loss_weight``.

        Args:
            pred, target (Tensor): ``[B, 3, H, W]``.
            pixel_mask (Tensor): ``[B, 1, H, W]``, 1 on masked pixels.
        """
        if pred.shape != target.shape:
            raise ValueError(f'prediction {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ')
        if pixel_mask.sum() == 0:
            raise ValueError('the pixel mask hides no pixel')
        return self.loss_weight * self.loss_module(pred, target,
                                                   pixel_mask.to(pred.dtype))
