"""A unimodal encoder + a linear map into the joint space, as a CLIP tower.

VFE-TPS Tables 1-3, "baseline (ours)": "a baseline model which shares the
same architecture with VFE-TPS but utilizes the same encoders with these
SOTAs" (§4.4), ViT and BERT pre-trained on unimodal data.  VFE-TPS's global
features are linear projections of the [CLS] / [EOS] outputs
(§3.1: :math:`f^v = FC(v^v_{CLS})`, :math:`f^t = FC(v^t_{EOS})`); with a
unimodal encoder :math:`E` returning tokens :math:`V = E(x) \\in
R^{L\\times C}` (token 0 = [CLS]) this tower gives

.. math::  \\mathrm{tokens} = V W + b \\in R^{L \\times D}, \\qquad
           \\mathrm{global} = \\mathrm{tokens}_0

(``W: C -> D = embed_dim``), the outputs of the CLIP towers
(:class:`CLIPVisionTransformer` / :class:`CLIPTextTransformer`), so
:class:`~sdtr.models.retrievers.VFETPSRetriever` and
:class:`~sdtr.models.retrievers.CLIPRetriever` use it unchanged.  Image
encoders: :class:`ViTEncoder` (its ``embed`` / ``forward_tokens`` give the
masked-image pass of TG-MIM); text encoders: :class:`BertTextEncoder`
(the attention mask is returned with the tokens).  The encoder loads its
own pretrained weights; the projection starts from PyTorch's default
initialisation.  docs/methods/vfe_tps.md#8-settings.
"""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from sdtr.registry import MODELS


@MODELS.register_module()
class ProjectedTower(BaseModule):
    """``encoder`` (token features) followed by ``Linear(width,
    embed_dim)``.

    Args:
        encoder (dict): a token encoder config (``ViTEncoder``,
            ``BertTextEncoder``); its ``width`` is the input of the map.
        embed_dim (int): joint embedding width ``D`` (512).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, encoder: dict, embed_dim: int = 512,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.encoder = MODELS.build(encoder)
        self.embed_dim = embed_dim
        self.width = self.encoder.width
        self.proj = nn.Linear(self.width, embed_dim)

    # the encoder's interface, where it has one (an image or a text tower)
    def __getattr__(self, name):
        if name in ('patch_size', 'grid_size', 'context_length',
                    'vocab_size'):
            return getattr(self._modules['encoder'], name)
        return super().__getattr__(name)

    def _out(self, tokens: torch.Tensor, mask=None) -> dict:
        tokens = self.proj(tokens)
        out = {'global': tokens[:, 0], 'tokens': tokens}
        if mask is not None:
            out['attention_mask'] = mask
        return out

    def forward(self, inputs: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None) -> dict:
        """Images ``[B, 3, H, W]`` or ``(input_ids, attention_mask)`` ->
        ``dict(global [B, D], tokens [B, L, D][, attention_mask])``."""
        if inputs.dim() == 4:
            return self._out(self.encoder(inputs))
        return self._out(self.encoder(inputs, attention_mask),
                         attention_mask)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder.embed(images)

    def forward_tokens(self, patch_tokens: torch.Tensor,
                       extra_tokens: Optional[torch.Tensor] = None,
                       keep_index: Optional[torch.Tensor] = None) -> dict:
        return self._out(self.encoder.forward_tokens(
            patch_tokens, extra_tokens=extra_tokens, keep_index=keep_index))
