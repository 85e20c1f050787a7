"""CLIP fine-tuning baseline ("Baseline (CLIP-ViT-B/16)" rows).

A dual encoder: an image tower and a text tower (open_clip-compatible CLIP
towers) map an image and a caption to global embeddings :math:`g_v, g_t`;
training minimises a weighted sum of matching losses

.. math::  \\mathcal{L} = \\sum_k \\lambda_k\\, \\mathcal{L}_k(g_v, g_t, y)

over the batch, with positives defined by the label ``y`` (``pid``; equal
to ``image_id`` for remote sensing): symmetric InfoNCE by default, IRRA's SDM
and ID losses configurable.  Retrieval ranks by :math:`\\cos(g_v, g_t)`.
"""
import re
from typing import Dict, Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmpretrain.structures import DataSample
from torch import nn

from sdtr.registry import MODELS
from ..utils.clip_checkpoint import (CheckpointMismatchError,
                                     load_clip_state_dict, parse_pretrained,
                                     split_clip_state_dict)
from .base import BaseRetriever

_IMAGE_OPTIONS = ('interpolation', 'antialias', 'old_grid_size')
_TEXT_OPTIONS = ('text_pos_resize', )


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
class CLIPRetriever(BaseRetriever):
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
        pretrained (str | dict, optional): an open_clip-format CLIP
            checkpoint for both towers, loaded strictly in
            :meth:`init_weights`: ``dict(checkpoint=<path or URL>,
            check_hash=..., ignore_keys=[regex on full keys],
            load_logit_scale=True, interpolation='bicubic', antialias=True,
            old_grid_size=None, text_pos_resize='interpolate')``.  The
            checkpoint's ``logit_scale`` initialises the learnable
            temperature of InfoNCE losses.
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
        self.pretrained = parse_pretrained(pretrained)
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
    def init_weights(self) -> None:
        """Initialise the towers and load ``pretrained`` (read once).

        The checkpoint is split here and each tower loads its part inside
        mmengine's ``init_weights`` traversal (so the initialisation log
        credits the towers), then the logit scale is copied.
        """
        if self.pretrained is None or self._is_init:
            super().init_weights()
            return
        prepared = self._prepare_pretrained(**self.pretrained)
        self.image_encoder.set_pending_state_dict(
            prepared['visual'], **prepared['visual_kwargs'])
        self.text_encoder.set_pending_state_dict(
            prepared['text'], **prepared['text_kwargs'])
        super().init_weights()
        self._load_logit_scale(prepared['logit_scale'])

    def load_pretrained(self,
                        checkpoint,
                        ignore_keys=(),
                        check_hash: bool = False,
                        sha256: Optional[str] = None,
                        load_logit_scale: bool = True,
                        **resize_options) -> dict:
        """Load an open_clip-format CLIP checkpoint into both towers now.

        Args: see ``pretrained`` in the class docstring.

        Raises:
            CheckpointMismatchError: any tower key missing, unexpected or of
                the wrong shape, or checkpoint keys that belong to neither
                tower (other than ``logit_scale``), unless matched by
                ``ignore_keys``.

        Returns:
            dict: ``image`` and ``text`` load reports and ``logit_scale``
            (whether it was copied).
        """
        prepared = self._prepare_pretrained(
            checkpoint, ignore_keys=ignore_keys, check_hash=check_hash,
            sha256=sha256, load_logit_scale=load_logit_scale,
            **resize_options)
        return dict(
            image=self.image_encoder.load_tower_state_dict(
                prepared['visual'], **prepared['visual_kwargs']),
            text=self.text_encoder.load_tower_state_dict(
                prepared['text'], **prepared['text_kwargs']),
            logit_scale=self._load_logit_scale(prepared['logit_scale']))

    def _prepare_pretrained(self,
                            checkpoint,
                            ignore_keys=(),
                            check_hash: bool = False,
                            sha256: Optional[str] = None,
                            load_logit_scale: bool = True,
                            **resize_options) -> dict:
        """Read and split a CLIP checkpoint; check it has no stray keys."""
        unknown = set(resize_options) - set(_IMAGE_OPTIONS) - set(
            _TEXT_OPTIONS)
        if unknown:
            raise TypeError(f'unknown pretrained options {sorted(unknown)}')
        source = checkpoint if isinstance(checkpoint, str) else \
            '<state dict>'
        state_dict = load_clip_state_dict(
            checkpoint, check_hash=check_hash, sha256=sha256)
        ignore_keys = list(ignore_keys)

        def ignored(key):
            return any(re.search(p, key) for p in ignore_keys)

        parts = split_clip_state_dict(
            {k: v for k, v in state_dict.items() if not ignored(k)})
        if parts['others']:
            raise CheckpointMismatchError(
                f'Checkpoint {source} has keys of neither tower: '
                f'{sorted(parts["others"])}; pass ignore_keys to drop them.')
        img_ignore = [
            '^' + re.escape(k) + '$'
            for k in self.image_encoder.state_dict() if ignored('visual.' + k)
        ]
        txt_ignore = [
            '^' + re.escape(k) + '$' for k in self.text_encoder.state_dict()
            if ignored(k)
        ]
        return dict(
            visual=parts['visual'],
            visual_kwargs=dict(
                ignore_keys=img_ignore, source=source,
                **{k: v for k, v in resize_options.items()
                   if k in _IMAGE_OPTIONS}),
            text=parts['text'],
            text_kwargs=dict(
                ignore_keys=txt_ignore, source=source,
                **{k: v for k, v in resize_options.items()
                   if k in _TEXT_OPTIONS}),
            logit_scale=parts['logit_scale'] if load_logit_scale else None)

    def _load_logit_scale(self, logit_scale: Optional[torch.Tensor]) -> bool:
        """Copy a checkpoint ``logit_scale`` into learnable loss scales."""
        if logit_scale is None:
            return False
        loaded = False
        for name, loss_fn in self.losses.items():
            param = getattr(loss_fn, 'logit_scale', None)
            if isinstance(param, nn.Parameter):
                with torch.no_grad():
                    param.copy_(logit_scale.reshape(param.shape))
                loaded = True
                print_log(
                    f'CLIPRetriever: loss "{name}" logit_scale <- '
                    f'{float(logit_scale.exp()):.4g} (exp)',
                    logger='current')
        return loaded
