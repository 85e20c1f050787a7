"""PIR-ITR: prior-instructed Swin-T + BERT retrieval (closed domain).

Pan et al., "PIR: Remote Sensing Image-Text Retrieval with Prior Instruction
Representation Learning" (arXiv 2405.10160v2 §IV; equations rebuilt
from the released code, docs/methods/pir.md#1-sources).  Composed from
registered parts:

* image: :math:`F = W_v\\,\\mathrm{Swin}(I) \\in R^{(1+N)\\times d}`
  (``image_encoder``; :math:`f_0` = average-pooled token);
* prior / instruction: :math:`g = W_c\\,\\mathrm{ResNet}(I) \\in R^d`
  (``instruction_encoder``, frozen scene classifier);
* belief (``belief``): hard (top-``K`` tokens by :math:`\\mathrm{softmax}_j
  (f_j^\\top g)`) or soft (rank-weighted tokens), §IV-B;
* Spatial-PAE (``spatial_pae``): :math:`\\tilde F` attended by the mapped
  instruction; image embedding :math:`v = f_0 + H_v(\\tilde F_0)`;
* text: :math:`T = W_t\\,\\mathrm{BERT}(w)`; Temporal-PAE (``temporal_pae``)
  over :math:`T` with the padding masked; :math:`t = T_0 + H_t(h^{3}_0)`;
* losses on the unit embeddings :math:`\\hat v, \\hat t` (§IV-D), run by
  the loop of :class:`BaseRetriever`: multi-positive contrastive (positives =
  captions of the same image, ``label_key='image_id'``; the model's
  learnable logit scale, temperature 0.07, all-gathered), affiliation loss on
  scene labels (``label_key='label'``, a model scale of its own,
  ``separate_scale=True``: the release's second learnable temperature 0.07;
  centre factor 1), optional VSE++ triplet loss.

Retrieval scores are :math:`\\hat t^\\top \\hat v` with
:math:`\\hat v = \\mathrm{normalize}(f_0 + H_v(\\tilde F_0))` and
:math:`\\hat t = \\mathrm{normalize}(T_0 + H_t(h^3_0))`.

Table III ablations are configuration: ``spatial_pae=None`` drops the
instruction branch (the image embedding is :math:`f_0`), ``temporal_pae=None``
gives :math:`t = T_0`, ``losses=dict(affil=None)`` gives "-AL".  Table I's
"+ TEL" row replaces the Spatial-PAE by an uninstructed token neck
(``image_neck``, :math:`v = f_0 + H_v(\mathrm{TEL}(F)_0)`) and the
Temporal-PAE by the same kind of neck (``temporal_pae`` slot).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample
from torch import nn

from sdtr.registry import MODELS
from ..interfaces import (Belief, InstructionEncoder, InstructionNeck,
                          TextNeck, TokenImageEncoder, TokenTextEncoder,
                          require_equal)
from .base import BaseRetriever


@MODELS.register_module()
class PIRITRRetriever(BaseRetriever):
    """PIR-ITR retriever.

    Args:
        image_encoder (dict): vision backbone returning ``[B, 1+N, C_v]``
            tokens, token 0 pooled (``SwinTransformerEncoder``).
        text_encoder (dict): text backbone returning ``[B, L, C_t]`` token
            features (``BertTextEncoder``).
        tokenizer (dict): ``TOKENIZERS`` config (``BertTokenizer``).
        instruction_encoder (dict, optional): prior encoder returning
            ``[B, C_p]`` (``SceneInstructionEncoder``); required with
            ``spatial_pae``.
        belief (dict, optional): ``HardBelief`` / ``SoftBelief`` config;
            None feeds all tokens to the Spatial-PAE.
        spatial_pae (dict, optional): ``SpatialPAE`` config; None = no
            visual instruction branch.
        temporal_pae (dict, optional): ``TemporalPAE`` config (or any text
            neck, e.g. ``TransformerEncoderNeck``); None = the [CLS]
            embedding only.
        image_neck (dict, optional): a token neck over all image tokens
            without prior (``TransformerEncoderNeck``, PIR Table I "+ TEL"):
            :math:`v = f_0 + H_v(\mathrm{neck}(F)_0)`; excludes
            ``spatial_pae``.
        embed_dim (int): common width ``d`` (512).
        losses (dict | list[dict]): see
            :func:`~sdtr.models.retrievers.base.build_losses`; they get
            the unit embeddings.
        logit_scale (dict, optional): the model's logit scale (see
            :meth:`BaseRetriever.setup_losses`).
        text_padding_mask (bool): mask the text padding inside the
            Temporal-PAE (False = released behaviour, padding attended).
        data_preprocessor (dict, optional): default
            ``RetrievalDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 image_encoder: dict,
                 text_encoder: dict,
                 tokenizer: dict,
                 instruction_encoder: Optional[dict] = None,
                 belief: Optional[dict] = dict(type='HardBelief',
                                               filter_size=40),
                 spatial_pae: Optional[dict] = dict(type='SpatialPAE'),
                 temporal_pae: Optional[dict] = dict(type='TemporalPAE'),
                 image_neck: Optional[dict] = None,
                 embed_dim: int = 512,
                 losses: Union[dict, Sequence[dict]] = dict(
                     itc=dict(type='InfoNCELoss', label_key='image_id'),
                     affil=dict(type='AffiliationLoss', separate_scale=True)),
                 logit_scale: Optional[dict] = dict(
                     init_temperature=0.07, learnable=True, max_scale=100.),
                 text_padding_mask: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            tokenizer=tokenizer,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.embed_dim = embed_dim
        self.image_encoder = self.build_part(image_encoder, TokenImageEncoder,
                                             'image_encoder')
        self.text_encoder = self.build_part(text_encoder, TokenTextEncoder,
                                            'text_encoder')
        self.check_tokenizer(self.text_encoder)
        self.vision_proj = nn.Linear(self.image_encoder.width, embed_dim)
        self.text_proj = nn.Linear(self.text_encoder.width, embed_dim)

        if spatial_pae is not None and image_neck is not None:
            raise ValueError('PIRITRRetriever: spatial_pae (prior-instructed) '
                             'and image_neck (uninstructed) are two '
                             'alternatives for the image tokens; set one')
        self.image_neck = None
        if image_neck is not None:
            self.image_neck = self.build_part(
                self._with_dim(image_neck, 'image_neck'), TextNeck,
                'image_neck')
            self.head_img = nn.Linear(embed_dim, embed_dim)
        if spatial_pae is not None:
            if instruction_encoder is None:
                raise ValueError('PIRITRRetriever: spatial_pae needs an '
                                 'instruction_encoder (the scene prior)')
            self.instruction_encoder = self.build_part(
                instruction_encoder, InstructionEncoder,
                'instruction_encoder')
            self.conv_proj = nn.Linear(self.instruction_encoder.out_dim,
                                       embed_dim)
            self.belief = self.build_part(belief, Belief, 'belief')
            self.spatial_pae = self.build_part(
                self._with_dim(spatial_pae, 'spatial_pae'), InstructionNeck,
                'spatial_pae')
            self.head_img = nn.Linear(embed_dim, embed_dim)
        else:
            if belief is not None and instruction_encoder is not None:
                raise ValueError('PIRITRRetriever: belief / '
                                 'instruction_encoder given without '
                                 'spatial_pae; set spatial_pae or drop them')
            self.instruction_encoder = None
            self.belief = None
            self.spatial_pae = None
        if temporal_pae is not None:
            self.temporal_pae = self.build_part(
                self._with_dim(temporal_pae, 'temporal_pae'), TextNeck,
                'temporal_pae')
            self.head_txt = nn.Linear(embed_dim, embed_dim)
        else:
            self.temporal_pae = None
        self.text_padding_mask = text_padding_mask
        self.setup_losses(losses, logit_scale)

    def _with_dim(self, cfg: dict, name: str) -> dict:
        cfg = dict(cfg)
        require_equal('PIRITRRetriever', 'widths', **{
            f'{name}.dim': cfg.setdefault('dim', self.embed_dim),
            'embed_dim': self.embed_dim})
        return cfg

    @staticmethod
    def _token_features(out, role: str) -> torch.Tensor:
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f'PIRITRRetriever: {role} must return token features [B, N, '
                f'width] (a Token*Encoder), got {type(out).__name__}; CLIP '
                'towers (dict outputs) belong to CLIPRetriever')
        return out

    # ----------------------------------------------------------- encoders
    def encode_image(self, images: torch.Tensor) -> dict:
        """Image features.

        Returns:
            dict: ``global`` ``[B, d]`` (:math:`f_0 + H_v(\\tilde F_0)`, not
            normalised), ``tokens`` ``[B, 1+N, d]`` (projected backbone
            tokens), and with the instruction branch ``instruction``
            ``[B, d]``, ``belief`` ``[B, 1+N]`` and (hard belief)
            ``kept_indices`` ``[B, K]``.
        """
        tokens = self.vision_proj(self._token_features(
            self.image_encoder(images), 'image_encoder'))
        out = dict(tokens=tokens, global_token=tokens[:, 0])
        if self.image_neck is not None:
            out['global'] = tokens[:, 0] + self.head_img(
                self.image_neck(tokens)[:, 0])
            return out
        if self.spatial_pae is None:
            out['global'] = tokens[:, 0]
            return out
        instruction = self.conv_proj(self.instruction_encoder(images))
        selected = tokens
        if self.belief is not None:
            selected, out['belief'], kept = self.belief(tokens, instruction)
            if kept is not None:
                out['kept_indices'] = kept
        fused = self.spatial_pae(selected, instruction)
        out['instruction'] = instruction
        out['global'] = tokens[:, 0] + self.head_img(fused[:, 0])
        return out

    def encode_tokens(self, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> dict:
        """Text features: ``global`` ``[B, d]`` (:math:`T_0 + H_t(h_0)`),
        ``tokens`` ``[B, L, d]``."""
        tokens = self.text_proj(self._token_features(
            self.text_encoder(input_ids, attention_mask), 'text_encoder'))
        out = dict(tokens=tokens)
        if self.temporal_pae is None:
            out['global'] = tokens[:, 0]
            return out
        mask = None
        if self.text_padding_mask:
            mask = attention_mask == 0
        h = self.temporal_pae(tokens, key_padding_mask=mask)
        out['global'] = tokens[:, 0] + self.head_txt(h[:, 0])
        return out

    # -------------------------------------------------------------- train
    def forward_train(self, inputs: torch.Tensor,
                      data_samples: Sequence[DataSample]) -> dict:
        """As :meth:`BaseRetriever.forward_train`, with ``img`` and ``txt``
        the unit embeddings :math:`\\hat v, \\hat t` (§IV-D)."""
        img_out = self.encode_image(inputs)
        img = F.normalize(self.image_embedding(img_out), dim=-1)
        txt_out = self.encode_text(self.get_text_inputs(data_samples))
        txt = F.normalize(self.text_embedding(txt_out), dim=-1)
        return dict(img=img, txt=txt, img_out=img_out, txt_out=txt_out)
