"""The interface every sdtr retrieval model implements (docs/architecture.md).

A retriever maps images and captions into one embedding space:

* :meth:`encode_image` ``(images [B,3,H,W]) -> dict(global=[B,D],
  tokens=[B,N,D] or None)`` (not normalised);
* :meth:`encode_text` ``(texts: list[str]) -> dict(global=[B,D],
  tokens=[B,L,D], attention_mask=[B,L], input_ids=[B,L])``; captions are
  tokenised inside the model by a tokenizer from ``TOKENIZERS``;
* :meth:`loss` ``(inputs, data_samples) -> dict[str, Tensor]``;
* :meth:`predict` ``(inputs, data_samples) -> list[DataSample]``, each with
  ``img_feat [D]`` and ``text_feats [n_i, D]``, the L2-normalised retrieval
  embeddings

  .. math::  \\hat v = \\frac{g_v}{\\|g_v\\|_2}, \\qquad
             \\hat t = \\frac{g_t}{\\|g_t\\|_2}

  (retrieval scores are :math:`\\hat t^\\top \\hat v`), keeping the input
  metainfo (``image_id``, ``text_ids``, ``pid``, ``text_pids``, ...);
* :meth:`forward` with ``mode='tensor'|'loss'|'predict'``.

Methods whose retrieval embedding is not the plain global feature (e.g. a
fusion of global and local features) override :meth:`image_embedding` and
:meth:`text_embedding`; :meth:`predict` and the losses then use them.
"""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS, TOKENIZERS


class BaseRetriever(BaseModel, metaclass=ABCMeta):
    """Base class of image-text retrievers.

    Args:
        tokenizer (dict | object): a ``TOKENIZERS`` config or instance.
        data_preprocessor (dict | nn.Module, optional): defaults to
            ``RetrievalDataPreprocessor`` (CLIP mean/std, BGR to RGB).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 tokenizer: Union[dict, object],
                 data_preprocessor: Union[dict, torch.nn.Module,
                                          None] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='RetrievalDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tokenizer = TOKENIZERS.build(tokenizer) if isinstance(
            tokenizer, dict) else tokenizer

    # ------------------------------------------------------------ helpers
    @property
    def _device(self) -> torch.device:
        for p in self.parameters():
            return p.device
        return torch.device('cpu')

    def tokenize(self, texts: Sequence[str]) -> Dict[str, torch.Tensor]:
        """Tokenise captions onto the model's device."""
        tokens = self.tokenizer(list(texts))
        return {k: v.to(self._device) for k, v in tokens.items()}

    @staticmethod
    def get_texts(data_samples: Sequence[DataSample]) -> List[str]:
        """The ``text`` of every (train-mode) sample."""
        texts = []
        for ds in data_samples:
            text = ds.get('text', None)
            if not isinstance(text, str):
                raise KeyError('every training sample needs a "text" caption '
                               f'(got {type(text).__name__})')
            texts.append(text)
        return texts

    def get_labels(self, data_samples: Sequence[DataSample],
                   key: str) -> torch.Tensor:
        """LongTensor of metainfo ``key`` (e.g. ``pid``) of every sample."""
        values = []
        for ds in data_samples:
            value = ds.get(key, None)
            if value is None:
                raise KeyError(f'data sample has no "{key}" label')
            values.append(int(value))
        return torch.tensor(values, dtype=torch.long, device=self._device)

    # ----------------------------------------------------------- encoders
    @abstractmethod
    def encode_image(self, images: torch.Tensor) -> dict:
        """``[B, 3, H, W]`` -> ``dict(global=[B, D], tokens=...)``."""

    @abstractmethod
    def encode_tokens(self, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> dict:
        """Token ids -> ``dict(global=[B, D], tokens=[B, L, D], ...)``."""

    def encode_text(self, texts: Union[Sequence[str], dict]) -> dict:
        """Captions (or a tokenizer output) -> text features.

        Returns:
            dict: ``global`` ``[B, D]``, ``tokens`` ``[B, L, D]``,
            ``attention_mask`` ``[B, L]`` and ``input_ids`` ``[B, L]``.
        """
        if isinstance(texts, str):
            texts = [texts]
        if isinstance(texts, dict):
            tokens = {k: v.to(self._device) for k, v in texts.items()}
        else:
            tokens = self.tokenize(texts)
        out = dict(self.encode_tokens(tokens['input_ids'],
                                      tokens['attention_mask']))
        out['input_ids'] = tokens['input_ids']
        out['attention_mask'] = tokens['attention_mask']
        return out

    def image_embedding(self, image_out: dict) -> torch.Tensor:
        """Retrieval embedding (not normalised) from :meth:`encode_image`."""
        return image_out['global']

    def text_embedding(self, text_out: dict) -> torch.Tensor:
        """Retrieval embedding (not normalised) from :meth:`encode_text`."""
        return text_out['global']

    # -------------------------------------------------------------- modes
    @abstractmethod
    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[DataSample]) -> Dict[str, torch.Tensor]:
        """Training losses of a batch of (image, caption) samples."""

    def extract_feat(self,
                     inputs: Optional[torch.Tensor] = None,
                     data_samples: Optional[Sequence[DataSample]] = None
                     ) -> dict:
        """``mode='tensor'``: raw encoder outputs.

        Returns:
            dict: ``image`` (``encode_image`` output or None) and ``text``
            (``encode_text`` of all captions of ``data_samples`` in order, or
            None).
        """
        image = self.encode_image(inputs) if inputs is not None else None
        texts, _ = self._all_captions(data_samples)
        text = self.encode_text(texts) if texts else None
        return dict(image=image, text=text)

    @staticmethod
    def _all_captions(data_samples) -> tuple:
        texts, counts = [], []
        for ds in data_samples or []:
            captions = ds.get('texts', None)
            if captions is None:
                captions = ds.get('text', None)
            if captions is None:
                captions = []
            elif isinstance(captions, str):
                captions = [captions]
            texts.extend(captions)
            counts.append(len(captions))
        return texts, counts

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence[DataSample]] = None
                ) -> List[DataSample]:
        """Normalised retrieval embeddings of gallery images and captions.

        A test item carries the captions of its image in ``texts`` (a train
        sample's ``text`` is accepted too); all captions of the batch are
        encoded in one pass and split back per item.

        Returns:
            list[DataSample]: the input samples (metainfo kept) with
            ``img_feat`` ``[D]`` and ``text_feats`` ``[n_i, D]``.
        """
        img = F.normalize(
            self.image_embedding(self.encode_image(inputs)), dim=-1).detach()
        if data_samples is None:
            data_samples = [DataSample() for _ in range(img.shape[0])]
        texts, counts = self._all_captions(data_samples)
        if texts:
            txt = F.normalize(
                self.text_embedding(self.encode_text(texts)), dim=-1).detach()
            per_item = txt.split(counts, dim=0)
        else:
            per_item = [img.new_zeros((0, img.shape[1]))] * len(data_samples)
        for ds, feat, text_feats in zip(data_samples, img, per_item):
            ds.set_data(dict(img_feat=feat, text_feats=text_feats))
        return list(data_samples)

    def forward(self,
                inputs: Optional[torch.Tensor] = None,
                data_samples: Optional[Sequence[DataSample]] = None,
                mode: str = 'tensor'):
        """Dispatch to :meth:`extract_feat`, :meth:`loss` or
        :meth:`predict`."""
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}".')
