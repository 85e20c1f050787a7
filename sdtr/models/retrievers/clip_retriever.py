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

``linear_probe=True`` is the "Linear probe CLIP" of VFE-TPS Table 5
(§4.5.1): both towers frozen, a trainable fully connected layer after each,
:math:`g_v = W_v\\,\\mathrm{CLIP}_v(I) + b_v`,
:math:`g_t = W_t\\,\\mathrm{CLIP}_t(T) + b_t` (``image_probe``,
``text_probe``, ``embed_dim`` square, PyTorch's default initialisation).
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from sdtr.registry import MODELS
from ..interfaces import ImageTower, TextTower, require_equal
from sdtr.checkpoint import LoadReport, PretrainedMixin
from ..utils.clip_checkpoint import (convert_clip_checkpoint,
                                     logit_scale_targets)
from .base import BaseRetriever


@MODELS.register_module()
class CLIPRetriever(PretrainedMixin, BaseRetriever):
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
            (``init_temperature``, ``learnable``, ``max_scale``), given to
            every loss that scales similarities; None when no loss does
            (see :meth:`BaseRetriever.setup_losses`).
        linear_probe (bool): freeze both towers and train a linear layer
            after each global feature (VFE-TPS Table 5, "Linear probe
            CLIP").
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
                 logit_scale: Optional[dict] = dict(
                     init_temperature=0.07, learnable=True, max_scale=100.),
                 linear_probe: bool = False,
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
        self.setup_pretrained(pretrained)
        require_equal(type(self).__name__, 'embedding dims', **{
            'image_encoder.embed_dim': self.image_encoder.embed_dim,
            'text_encoder.embed_dim': self.text_encoder.embed_dim})
        self.check_tokenizer(self.text_encoder)
        self.linear_probe = linear_probe
        if linear_probe:
            if type(self).encode_image is not CLIPRetriever.encode_image:
                raise ValueError(f'{type(self).__name__} encodes images its '
                                 'own way: linear_probe is a CLIPRetriever '
                                 'option')
            dim = self.image_encoder.embed_dim
            self.image_probe = nn.Linear(dim, dim)
            self.text_probe = nn.Linear(dim, dim)
            for tower in (self.image_encoder, self.text_encoder):
                tower.requires_grad_(False)

    # ----------------------------------------------------------- encoders
    def encode_image(self, images: torch.Tensor) -> dict:
        out = self.image_encoder(images)
        if self.linear_probe:
            out = dict(out, **{'global': self.image_probe(out['global'])})
        return out

    def encode_tokens(self, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> dict:
        out = self.text_encoder(input_ids, attention_mask)
        if self.linear_probe:
            out = dict(out, **{'global': self.text_probe(out['global'])})
        return out

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
