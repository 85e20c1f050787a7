"""CLIP fine-tuning baseline ("Baseline (CLIP-ViT-B/16)" rows).

A dual encoder: an image tower and a text tower (open_clip-compatible CLIP
towers) map an image and a caption to global embeddings :math:`g_v, g_t`;
training minimises a weighted sum of matching losses

.. math::  \\mathcal{L} = \\sum_k \\lambda_k\\, \\mathcal{L}_k(g_v, g_t, y; s)

over the batch, with positives defined by each loss's label ``y`` (``pid``;
equal to ``image_id`` for remote sensing) and the model's logit scale ``s``
(open_clip's learnable ``logit_scale``, loaded from the CLIP checkpoint):
symmetric InfoNCE by default, IRRA's SDM and ID losses configurable.  The
loss loop is :meth:`BaseRetriever.loss`.  Retrieval ranks by
:math:`\\cos(g_v, g_t)`.
"""
import re
from typing import Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from torch import nn

from sdtr.registry import MODELS
from ..interfaces import ImageTower, TextTower, require_equal
from ..utils.clip_checkpoint import (CheckpointMismatchError,
                                     load_clip_state_dict, parse_pretrained,
                                     split_clip_state_dict)
from .base import BaseRetriever

_IMAGE_OPTIONS = ('interpolation', 'antialias', 'old_grid_size')
_TEXT_OPTIONS = ('text_pos_resize', )


@MODELS.register_module()
class CLIPRetriever(BaseRetriever):
    """CLIP dual-encoder retriever.

    Args:
        image_encoder (dict): image tower config
            (``CLIPVisionTransformer`` / ``CLIPModifiedResNet``).
        text_encoder (dict): text tower config (``CLIPTextTransformer``).
        tokenizer (dict): ``TOKENIZERS`` config (``CLIPTokenizer``).
        losses (dict | list[dict]): see
            :func:`~sdtr.models.retrievers.base.build_losses`; default
            ``InfoNCELoss`` on the model's scale with ``pid`` positives.
        logit_scale (dict, optional): the model's logit scale
            (``init_temperature``, ``learnable``, ``max_scale``), used by
            every loss without a temperature of its own; None when there
            is no such loss.
        pretrained (str | dict, optional): an open_clip-format CLIP
            checkpoint for both towers, loaded strictly in
            :meth:`init_weights`: ``dict(checkpoint=<path or URL>,
            check_hash=..., ignore_keys=[regex on full keys],
            load_logit_scale=True, interpolation='bicubic', antialias=True,
            old_grid_size=None, text_pos_resize='interpolate')``.  The
            checkpoint's ``logit_scale`` initialises the model's learnable
            ``logit_scale``.
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
                 logit_scale: Optional[dict] = dict(
                     init_temperature=0.07, learnable=True, max_scale=100.),
                 pretrained: Union[str, dict, None] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            tokenizer=tokenizer,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.image_encoder = self.build_part(image_encoder, ImageTower,
                                             'image_encoder')
        self.text_encoder = self.build_part(text_encoder, TextTower,
                                            'text_encoder')
        self.setup_losses(losses, logit_scale)
        self.pretrained = parse_pretrained(pretrained)
        require_equal(type(self).__name__, 'embedding dims', **{
            'image_encoder.embed_dim': self.image_encoder.embed_dim,
            'text_encoder.embed_dim': self.text_encoder.embed_dim})
        self.check_tokenizer(self.text_encoder)

    # ----------------------------------------------------------- encoders
    def encode_image(self, images: torch.Tensor) -> dict:
        return self.image_encoder(images)

    def encode_tokens(self, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> dict:
        return self.text_encoder(input_ids, attention_mask)

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
        """Copy a checkpoint ``logit_scale`` into the model's learnable
        ``logit_scale`` (a fixed or absent one is left as configured)."""
        param = self.logit_scale
        if logit_scale is None or not isinstance(param, nn.Parameter):
            return False
        with torch.no_grad():
            param.copy_(logit_scale.reshape(param.shape))
        print_log(f'{type(self).__name__}: logit_scale <- '
                  f'{float(logit_scale.exp()):.4g} (exp)', logger='current')
        return True
