"""CLIP fine-tuning baseline ("Baseline (CLIP-ViT-B/16)" rows).

A dual encoder: an image tower and a text tower (open_clip-compatible CLIP
towers) map an image and a caption to global embeddings :math:`g_v, g_t`;
training minimises a weighted sum of matching losses

.. math::  \\mathcal{L} = \\sum_k \\lambda_k\\, \\mathcal{L}_k(g_v, g_t, y)

over the batch, with positives defined by the label ``y`` (``pid``; equal
to ``image_id`` for remote sensing): symmetric InfoNCE by default, IRRA's SDM
and ID losses configurable.  Retrieval ranks by :math:`\\cos(g_v, g_t)`.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.structures import DataSample
from torch import nn

from sdtr.registry import MODELS
from ..utils.checkpoint_loading import LoadReport, PretrainedMixin
from ..utils.clip_checkpoint import (convert_clip_checkpoint,
                                     logit_scale_targets)
from .base import BaseRetriever


def build_losses(losses) -> nn.ModuleDict:
    """Build ``losses`` into an ``nn.ModuleDict`` keyed by loss name.

    ``losses`` may be one config (``dict(type=...)``), a list of configs
    (named by each class's ``default_name``: ``itc``, ``sdm``, ``cmpm``,
    ``id``) or a dict ``{name: config}``.
    """
    if losses is None:
        return nn.ModuleDict()
    if isinstance(losses, (dict, )) and 'type' in losses:
        losses = [losses]
    if isinstance(losses, dict):
        items = list(losses.items())
    else:
        items = []
        for cfg in losses:
            loss = MODELS.build(cfg) if isinstance(cfg, dict) else cfg
            name = getattr(loss, 'default_name', type(loss).__name__.lower())
            base, i = name, 1
            while any(name == n for n, _ in items):
                i += 1
                name = f'{base}{i}'
            items.append((name, loss))
    built = nn.ModuleDict()
    for name, cfg in items:
        built[name] = MODELS.build(cfg) if isinstance(cfg, dict) else cfg
    return built


@MODELS.register_module()
class CLIPRetriever(PretrainedMixin, BaseRetriever):
    """CLIP dual-encoder retriever.

    Args:
        image_encoder (dict): image tower config
            (``CLIPVisionTransformer`` / ``CLIPModifiedResNet``).
        text_encoder (dict): text tower config (``CLIPTextTransformer``).
        tokenizer (dict): ``TOKENIZERS`` config (``CLIPTokenizer``).
        losses (dict | list[dict]): see :func:`build_losses`; default
            ``InfoNCELoss``.
        label_key (str): metainfo field whose equality defines positives
            (``'pid'``).
        pretrained (str | dict, optional): a CLIP checkpoint for both
            towers (read once), loaded strictly in :meth:`init_weights`:
            ``dict(checkpoint=<path, URL or openclip:<arch>/<tag>>,
            check_hash=..., ignore_keys=[regex], load_logit_scale=True,
            layout='auto', interpolation='bicubic', antialias=True,
            old_grid_size=None, text_pos_resize='interpolate')``
            (``convert_clip_checkpoint`` in
            :mod:`sdtr.models.utils.clip_checkpoint`).  The checkpoint's
            ``logit_scale`` initialises the model's learnable logit scale.
        data_preprocessor (dict, optional): default
            ``RetrievalDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 image_encoder: dict,
                 text_encoder: dict,
                 tokenizer: dict = dict(type='CLIPTokenizer'),
                 losses: Union[dict, Sequence[dict]] = dict(
                     type='InfoNCELoss'),
                 label_key: str = 'pid',
                 pretrained: Union[str, dict, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            tokenizer=tokenizer,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.image_encoder = MODELS.build(image_encoder)
        self.text_encoder = MODELS.build(text_encoder)
        self.losses = build_losses(losses)
        self.label_key = label_key
        self.setup_pretrained(pretrained)
        self._check_compatible()

    def _check_compatible(self) -> None:
        img_dim = getattr(self.image_encoder, 'embed_dim', None)
        txt_dim = getattr(self.text_encoder, 'embed_dim', None)
        if img_dim is not None and txt_dim is not None and img_dim != txt_dim:
            raise ValueError(f'image embed_dim {img_dim} != text embed_dim '
                             f'{txt_dim}')
        ctx = getattr(self.text_encoder, 'context_length', None)
        tok_ctx = getattr(self.tokenizer, 'context_length', None)
        if ctx is not None and tok_ctx is not None and tok_ctx > ctx:
            raise ValueError(f'tokenizer context_length {tok_ctx} exceeds the '
                             f'text tower context_length {ctx}')
        vocab = getattr(self.text_encoder, 'vocab_size', None)
        tok_vocab = getattr(self.tokenizer, 'vocab_size', None)
        if vocab is not None and tok_vocab is not None and tok_vocab > vocab:
            raise ValueError(f'tokenizer vocab_size {tok_vocab} exceeds the '
                             f'text tower vocab_size {vocab}')

    # ----------------------------------------------------------- encoders
    def encode_image(self, images: torch.Tensor) -> dict:
        return self.image_encoder(images)

    def encode_tokens(self, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> dict:
        return self.text_encoder(input_ids, attention_mask)

    # -------------------------------------------------------------- train
    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[DataSample]) -> Dict[str, torch.Tensor]:
        """``loss_<name>`` for every configured loss."""
        if not len(self.losses):
            raise RuntimeError('CLIPRetriever has no losses configured')
        img = self.image_embedding(self.encode_image(inputs))
        txt = self.text_embedding(self.encode_text(
            self.get_texts(data_samples)))
        labels = self.get_labels(data_samples, self.label_key)
        return {
            f'loss_{name}': loss_fn(img, txt, labels)
            for name, loss_fn in self.losses.items()
        }

    # ------------------------------------------------------------ weights
    #: the CLIP checkpoint covers the towers and the logit scale only
    keeps_default_init = True

    def _clip_towers(self) -> Dict[str, nn.Module]:
        return {'image_encoder.': self.image_encoder,
                'text_encoder.': self.text_encoder}

    def pretrained_targets(self) -> List[str]:
        return list(self._clip_towers()) + list(logit_scale_targets(self))

    def pretrained_options(self) -> set:
        return {'load_logit_scale', 'layout'}.union(
            *(t.pretrained_options() for t in self._clip_towers().values()))

    def convert_state_dict(self, state_dict: dict, report: LoadReport,
                           **options) -> dict:
        """A CLIP checkpoint -> ``image_encoder.*``, ``text_encoder.*`` and
        the logit scale."""
        return convert_clip_checkpoint(state_dict, report,
                                       self._clip_towers(),
                                       logit_scale_targets(self), **options)

    def load_pretrained(self, checkpoint=None, **options) -> LoadReport:
        """Load a CLIP checkpoint into both towers and the logit scale now.

        Returns:
            LoadReport: with ``parts`` ``image``, ``text`` and
            ``logit_scale``.
        """
        report = super().load_pretrained(checkpoint, **options)
        report.parts.update(
            image=report.subset(['image_encoder.'], 'image_encoder'),
            text=report.subset(['text_encoder.'], 'text_encoder'),
            logit_scale=report.subset(list(logit_scale_targets(self)),
                                      'logit_scale'))
        return report
