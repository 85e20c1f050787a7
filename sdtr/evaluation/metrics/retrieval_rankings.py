"""Per-query rankings of a retrieval test, written to a JSON file.

The retrieval counterpart of mmpretrain's ``tools/test.py --out-item pred``:
``tools/test.py CONFIG CKPT --dump-rankings rankings.json`` (or ``--out
rankings.json --out-item pred``) adds this metric to the test evaluator.
It gathers the same features as :class:`RSITRRecall` /
:class:`PersonSearchMetric` (every rank, sampler padding dropped, canonical
order) and, on rank 0, writes for every query the top-k gallery items with
their scores (cosine similarity of the L2-normalised embeddings) and the
rank of the ground truth under the tie rule of the metrics (a relevant item
wins a tie):

.. code-block:: text

    {"relevance": "image", "topk": 10, "num_images": N, "num_texts": M,
     "t2i": [{"text_id": 0, "caption": "...", "gt_rank": 3,
              "gt": [image index, ...],
              "results": [{"image": 17, "img_path": "...", "score": 0.41,
                           "relevant": false}, ...]}, ...],
     "i2t": [{"image": 0, "img_path": "...", "gt_rank": 1,
              "gt": [text id, ...],
              "results": [{"text_id": 4, "caption": "...", "score": 0.52,
                           "relevant": true}, ...]}, ...]}

``relevance='image'`` (RSITR): a caption's relevant image is its own image
and an image's relevant captions are its own captions; ``'identity'``
(person search): relevance is equality of the person identity (``pid``).
Images are numbered by ``sample_idx`` and captions by ``text_id``, as in the
test dataset.  It returns no metric values.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, List, Sequence

import torch
from mmengine.dist import all_gather_object, get_world_size
from torch import Tensor

from sdtr.registry import METRICS
from ..functional._common import exact_fp32_matmul
from .retrieval_base import BaseRetrievalMetric, _as_long_list, _get


@METRICS.register_module()
class RetrievalRankingDump(BaseRetrievalMetric):
    """Write per-query top-k rankings and ground-truth ranks to JSON.

    Args:
        out_file (str): the JSON file (its folder is created).
        topk (int): gallery items listed per query. Defaults to 10.
        relevance (str): ``'image'`` (RSITR) or ``'identity'`` (person
            search).
        chunk (int): queries scored at once (bounds the memory of the score
            block to ``chunk x gallery`` floats).
        **kwargs: ``device``, ``prefix`` of :class:`BaseRetrievalMetric`.
    """

    default_prefix = 'rankings'

    def __init__(self,
                 out_file: str,
                 topk: int = 10,
                 relevance: str = 'image',
                 chunk: int = 1024,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if relevance not in ('image', 'identity'):
            raise ValueError("relevance must be 'image' or 'identity', got "
                             f'{relevance!r}')
        if int(topk) < 1:
            raise ValueError(f'topk must be >= 1, got {topk}')
        self.out_file = str(out_file)
        self.k = int(topk)
        self.relevance = relevance
        self.chunk = int(chunk)
        self._names: List[tuple] = []
        self._lookup: Dict[str, Dict[int, Any]] = {}

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        super().process(data_batch, data_samples)
        for sample in data_samples:
            texts = _get(sample, 'texts', None) or []
            if isinstance(texts, str):
                texts = [texts]
            self._names.append(
                (int(_get(sample, 'sample_idx')),
                 str(_get(sample, 'img_path', '')),
                 list(zip(_as_long_list(_get(sample, 'text_ids')),
                          [str(t) for t in texts]))))

    def evaluate(self, size: int) -> dict:
        parts = [self._names] if get_world_size() == 1 else \
            all_gather_object(self._names)
        self._names = []
        self._lookup = dict(img={}, text={})
        for part in parts:
            for sample_idx, img_path, texts in part:
                self._lookup['img'].setdefault(sample_idx, img_path)
                for text_id, caption in texts:
                    self._lookup['text'].setdefault(text_id, caption)
        return super().evaluate(size)

    # ------------------------------------------------------------------
    def _relevant(self, data: Dict[str, Tensor], direction: str,
                  rows: Tensor) -> Tensor:
        """Boolean ``[len(rows), gallery]`` relevance of query ``rows``."""
        if self.relevance == 'identity':
            q, g = (data['txt_pids'], data['img_pids']) if direction == \
                't2i' else (data['img_pids'], data['txt_pids'])
            return q[rows, None] == g[None, :]
        if direction == 't2i':
            owner = data['txt2img'][rows]
            return owner[:, None] == torch.arange(
                data['img'].shape[0], device=owner.device)[None, :]
        return rows[:, None] == data['txt2img'][None, :]

    def _rank(self, data: Dict[str, Tensor], direction: str) -> List[dict]:
        query, gallery = (data['txt'], data['img']) if direction == 't2i' \
            else (data['img'], data['txt'])
        k = min(self.k, gallery.shape[0])
        out = []
        for start in range(0, query.shape[0], self.chunk):
            rows = torch.arange(start, min(start + self.chunk,
                                           query.shape[0]),
                                device=query.device)
            # scored as img @ txt.T, the orientation of the metrics, so
            # that the ranks agree with them to the last bit
            with exact_fp32_matmul():
                scores = (data['img'] @ data['txt'][rows].t()).t() \
                    if direction == 't2i' else data['img'][rows] @ \
                    data['txt'].t()
            relevant = self._relevant(data, direction, rows)
            best = torch.where(relevant, scores,
                               torch.full_like(scores, float('-inf'))).amax(1)
            gt_rank = (scores > best[:, None]).sum(1) + 1
            # ties broken by the lower gallery index (stable sort)
            order = torch.sort(scores, dim=1, descending=True,
                               stable=True).indices[:, :k]
            top = scores.gather(1, order)
            for i, row in enumerate(rows.tolist()):
                gt = torch.nonzero(relevant[i]).flatten().tolist()
                results = []
                for j, s in zip(order[i].tolist(), top[i].tolist()):
                    item = (dict(image=j,
                                 img_path=self._lookup['img'].get(j))
                            if direction == 't2i' else
                            dict(text_id=j,
                                 caption=self._lookup['text'].get(j)))
                    item.update(score=round(float(s), 6),
                                relevant=bool(relevant[i, j]))
                    results.append(item)
                entry = (dict(text_id=row,
                              caption=self._lookup['text'].get(row))
                         if direction == 't2i' else
                         dict(image=row, img_path=self._lookup['img'].get(row)))
                entry.update(gt_rank=int(gt_rank[i]) if gt else None, gt=gt,
                             results=results)
                out.append(entry)
        return out

    def compute_from_data(self, data: Dict[str, Tensor]) -> dict:
        dev = self._compute_device()
        data = {k: v.to(dev) for k, v in data.items()}
        report = dict(relevance=self.relevance, topk=self.k,
                      num_images=int(data['img'].shape[0]),
                      num_texts=int(data['txt'].shape[0]),
                      t2i=self._rank(data, 't2i'),
                      i2t=self._rank(data, 'i2t'))
        folder = osp.dirname(osp.abspath(self.out_file))
        os.makedirs(folder, exist_ok=True)
        with open(self.out_file, 'w', encoding='utf-8') as f:
            json.dump(report, f, indent=1)
        return {}
