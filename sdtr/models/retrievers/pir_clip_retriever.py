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

where the affiliation loss uses the same learnable, clamped CLIP logit scale
:math:`s` as the contrastive loss (``share_logit_scale=True``, as released)
and the scene labels come from the image file names (the ``label`` field of
the data samples).  Ablations of PIR Table III: ``instruction_encoder=None``
with a plain ``CLIPVisionTransformer`` removes the soft-belief ViT
("S-PAE"), ``affiliation_loss=None`` removes the affiliation loss.
"""
from typing import Dict, Optional, Sequence

import torch
from mmpretrain.structures import DataSample
from torch import nn

from sdtr.registry import MODELS
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
        affiliation_loss (dict, optional): ``AffiliationLoss`` config; None
            disables it.
        share_logit_scale (bool): feed the contrastive loss's logit scale to
            the affiliation loss (released PIR-CLIP); then the affiliation
            loss has no temperature of its own.
        contrastive_loss_name (str): key of the contrastive loss in
            ``losses`` whose scale is shared (``'itc'``).
        scene_label_key (str): metainfo field of the scene label
            (``'label'``).
        **kwargs: :class:`CLIPRetriever` arguments (``tokenizer``,
            ``losses``, ``label_key``, ``pretrained`` for the ViT and text
            towers, ``data_preprocessor``, ``init_cfg``).
    """

    def __init__(self,
                 image_encoder: dict,
                 text_encoder: dict,
                 instruction_encoder: Optional[dict] = None,
                 text_neck: Optional[dict] = None,
                 affiliation_loss: Optional[dict] = dict(
                     type='AffiliationLoss'),
                 share_logit_scale: bool = True,
                 contrastive_loss_name: str = 'itc',
                 scene_label_key: str = 'label',
                 **kwargs):
        super().__init__(image_encoder=image_encoder,
                         text_encoder=text_encoder, **kwargs)
        self.instruction_encoder = MODELS.build(instruction_encoder) \
            if instruction_encoder is not None else None
        width = getattr(self.image_encoder, 'width', None)
        if self.instruction_encoder is not None:
            if not hasattr(self.image_encoder, 'belief'):
                raise TypeError('an instruction_encoder needs an image '
                                'encoder that takes an instruction '
                                '(PIRCLIPVisionTransformer), got '
                                f'{type(self.image_encoder).__name__}')
            out_dim = self.instruction_encoder.out_dim
            if width is not None and out_dim != width:
                raise ValueError(f'instruction_encoder out_dim {out_dim} != '
                                 f'ViT width {width}')
        elif hasattr(self.image_encoder, 'belief'):
            raise ValueError('PIRCLIPVisionTransformer needs an '
                             'instruction_encoder')
        self.text_neck = MODELS.build(text_neck) if text_neck is not None \
            else None
        if self.text_neck is not None:
            dim = self.text_encoder.embed_dim
            if getattr(self.text_neck, 'dim', dim) != dim:
                raise ValueError(f'text_neck dim {self.text_neck.dim} != text '
                                 f'embed_dim {dim}')
            self.text_head = nn.Linear(dim, dim)
        self.share_logit_scale = share_logit_scale
        self.contrastive_loss_name = contrastive_loss_name
        self.scene_label_key = scene_label_key
        self.affiliation_loss = None
        if affiliation_loss is not None:
            cfg = dict(affiliation_loss)
            if share_logit_scale:
                if cfg.get('learnable_temperature', False):
                    raise ValueError(
                        'share_logit_scale=True: the affiliation loss uses '
                        'the contrastive scale, so it cannot learn its own '
                        'temperature (learnable_temperature=True)')
                cfg['learnable_temperature'] = False
                if contrastive_loss_name not in self.losses or not hasattr(
                        self.losses[contrastive_loss_name],
                        'get_logit_scale'):
                    raise KeyError(
                        f'share_logit_scale needs a contrastive loss named '
                        f'{contrastive_loss_name!r} with get_logit_scale() '
                        f'in losses (have {list(self.losses)})')
            self.affiliation_loss = MODELS.build(cfg)

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

    # -------------------------------------------------------------- train
    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_<name>`` of every contrastive loss + ``loss_affil``."""
        img = self.image_embedding(self.encode_image(inputs))
        txt = self.text_embedding(self.encode_text(
            self.get_texts(data_samples)))
        labels = self.get_labels(data_samples, self.label_key)
        losses = {
            f'loss_{name}': loss_fn(img, txt, labels)
            for name, loss_fn in self.losses.items()
        }
        if self.affiliation_loss is not None:
            scenes = self.get_labels(data_samples, self.scene_label_key)
            scale = None
            if self.share_logit_scale:
                scale = self.losses[
                    self.contrastive_loss_name].get_logit_scale()
            losses['loss_affil'] = self.affiliation_loss(
                img, txt, scenes, logit_scale=scale)
        if not losses:
            raise RuntimeError('PIRCLIPRetriever has no losses configured')
        return losses
