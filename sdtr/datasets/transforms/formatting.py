"""Packing transform producing ``inputs`` + ``data_samples``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmpretrain.structures import DataSample

from sdtr.registry import TRANSFORMS

TRAIN_KEYS = ('text', 'image_id', 'pid', 'label', 'img_path', 'sample_idx')
#: optional train fields: the caption's token ids, made in the workers by
#: TokenizeCaption, and the tokenizer that made them
TOKEN_KEYS = ('text_tokens', 'text_tokenizer')
TEST_KEYS = ('texts', 'text_ids', 'image_id', 'pid', 'text_pids', 'label',
             'img_path', 'sample_idx')


@TRANSFORMS.register_module()
class PackRetrievalInputs(BaseTransform):
    """Pack a retrieval sample into ``dict(inputs, data_samples)``.

    ``inputs`` is the image as a ``uint8`` tensor ``3xHxW`` in BGR channel
    order (as decoded); float images are rounded and clipped to uint8.
    ``data_samples`` is an :class:`mmpretrain.structures.DataSample` whose
    metainfo holds the fields of ``docs/architecture.md``: for a train
    sample ``text, image_id, pid, label, img_path, sample_idx`` (plus
    ``text_tokens, text_tokenizer`` after ``TokenizeCaption``); for a test
    item ``texts, text_ids, image_id, pid, text_pids, label, img_path,
    sample_idx`` (chosen by whether ``texts`` is present).

    Args:
        meta_keys (Sequence[str]): extra keys copied to the metainfo when
            present (default ``('ori_shape', 'img_shape')``).
    """

    def __init__(self, meta_keys: Sequence[str] = ('ori_shape',
                                                   'img_shape')):
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _to_tensor(img: np.ndarray) -> torch.Tensor:
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if img.dtype != np.uint8:
            img = np.clip(np.round(img), 0, 255).astype(np.uint8)
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError(
                'PackRetrievalInputs needs results["img"]; put a LoadImage '
                f'transform before it (sample {results.get("img_path")!r})')
        keys = TEST_KEYS if 'texts' in results else TRAIN_KEYS
        missing = [k for k in keys if k not in results]
        if missing:
            raise KeyError(
                f'PackRetrievalInputs: sample {results.get("img_path")!r} '
                f'lacks {missing}; expected the fields of a retrieval '
                'dataset item')
        meta = {k: results[k] for k in keys}
        if keys is TRAIN_KEYS:
            meta.update({k: results[k] for k in TOKEN_KEYS if k in results})
        for k in self.meta_keys:
            if k in results:
                meta[k] = results[k]
        sample = DataSample()
        sample.set_metainfo(meta)
        return dict(inputs=self._to_tensor(results['img']),
                    data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
