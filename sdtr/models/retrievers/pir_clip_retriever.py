"""PIR-CLIP: CLIP with a scene-prior instruction token and soft belief.

PIR paper (arXiv 2405.10160v2) §IV-C3 (model), §IV-D (losses), §V-C
(settings); spec: docs/methods/pir.md#13-pir-clip-model.  Image side:

.. math::  y = \\mathrm{Instr}(I), \\qquad
           g_v = \\mathrm{ViT}_{belief}(I, y)

(:class:`~sdtr.models.backbones.PIRInstructionEncoder` and
:class:`~sdtr.models.backbones.PIRCLIPVisionTransformer`).  Text side: the
plain CLIP text tower, :math:`g_t = \\mathrm{EOT}(T)` (released), or with the
optional Temporal-PAE (PIR eq. 13-14, ``text_neck``):

.. math::  h = \\mathrm{TPAE}(T, \\mathrm{mask}), \\qquad
           g_t = T_{eot} + H(h_{eot})

Training objective (PIR eq. 15-17 with the centre factor
:math:`\\lambda = 1`):

.. math::  \\mathcal L = \\mathcal L_{CL}(g_v, g_t; s)
           + \\lambda\\, \\mathcal L_{AL}(g_v, g_t, y_{scene}; s)

both terms configured in ``losses`` (``itc``: ``InfoNCELoss``, ``affil``:
``AffiliationLoss``) and run by the loop of :class:`BaseRetriever`: both use
the model's learnable, clamped CLIP logit scale :math:`s` (as released) and
the affiliation loss reads the scene labels (the ``label`` field of the data
samples, from the image file names) because it declares
``label_key='label'``.  Ablations of PIR Table III:
``instruction_encoder=None`` with a plain ``CLIPVisionTransformer`` removes
the soft-belief ViT ("S-PAE"), ``losses=dict(affil=None)`` removes the
affiliation loss.  The
released ``ClipLoss`` uses one-hot targets (the other captions of the same
image in a batch are negatives): ``losses=dict(itc=dict(label_key=None))``.
"""
from typing import Optional

import torch
from torch import nn

from sdtr.registry import MODELS
from ..interfaces import (InstructedImageTower, InstructionEncoder, TextNeck,
                          require, require_equal)
from .clip_retriever import CLIPRetriever


@MODELS.register_module()
class PIRCLIPRetriever(CLIPRetriever):
    """PIR-CLIP retriever.

    Args:
        image_encoder (dict): ``PIRCLIPVisionTransformer`` (or a plain
            ``CLIPVisionTransformer`` when ``instruction_encoder`` is None).
        text_encoder (dict): ``CLIPTextTransformer``.
        instruction_encoder (dict, optional): ``PIRInstructionEncoder``
            whose ``out_dim`` equals the ViT width.
        text_neck (dict, optional): ``TemporalPAE`` on the projected text
            tokens (paper switch); None = plain CLIP text (released).
        **kwargs: :class:`CLIPRetriever` arguments (``tokenizer``,
            ``losses`` -- contrastive + affiliation by default --,
            ``logit_scale``, ``pretrained`` for the ViT and text towers,
            ``data_preprocessor``, ``init_cfg``).
    """

    def __init__(self,
                 image_encoder: dict,
                 text_encoder: dict,
                 instruction_encoder: Optional[dict] = None,
                 text_neck: Optional[dict] = None,
                 losses: dict = dict(itc=dict(type='InfoNCELoss'),
                                     affil=dict(type='AffiliationLoss')),
                 **kwargs):
        super().__init__(image_encoder=image_encoder,
                         text_encoder=text_encoder, losses=losses, **kwargs)
        by = type(self).__name__
        self.instruction_encoder = self.build_part(
            instruction_encoder, InstructionEncoder, 'instruction_encoder')
        if self.instruction_encoder is not None:
            require(self.image_encoder, InstructedImageTower, 'image_encoder',
                    by)
            require_equal(by, 'instruction widths', **{
                'instruction_encoder.out_dim':
                self.instruction_encoder.out_dim,
                'image_encoder.width': self.image_encoder.width})
        elif isinstance(self.image_encoder, InstructedImageTower):
            raise ValueError(f'{by}: image_encoder '
                             f'{type(self.image_encoder).__name__} takes an '
                             'instruction and needs an instruction_encoder')
        self.text_neck = self.build_part(text_neck, TextNeck, 'text_neck')
        if self.text_neck is not None:
            dim = self.text_encoder.embed_dim
            require_equal(by, 'text widths', **{
                'text_neck.dim': self.text_neck.dim,
                'text_encoder.embed_dim': dim})
            self.text_head = nn.Linear(dim, dim)

    # ----------------------------------------------------------- encoders
    def encode_image(self, images: torch.Tensor) -> dict:
        if self.instruction_encoder is None:
            return self.image_encoder(images)
        instruction = self.instruction_encoder(images)
        out = dict(self.image_encoder(images, instruction))
        out['instruction'] = instruction
        return out

    def encode_tokens(self, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> dict:
        out = dict(self.text_encoder(input_ids, attention_mask))
        if self.text_neck is None:
            return out
        tokens = out['tokens']
        mask = out.get('attention_mask', attention_mask)
        h = self.text_neck(tokens, key_padding_mask=mask == 0)
        eot = input_ids.argmax(dim=-1)
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        out['global'] = out['global'] + self.text_head(h[rows, eot])
        return out
