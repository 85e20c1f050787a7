"""Shared machinery of the retrieval metrics (not registered).

``process`` keeps one record per test item (a gallery image with its
captions, see docs/architecture.md); ``evaluate`` gathers every rank's records
as padded tensors (``mmengine.dist.all_gather``, so it works with gloo on CPU
and nccl on GPU), drops the duplicates a distributed sampler pads with (the
first occurrence of a ``sample_idx`` in rank order is kept), checks that the
gallery and the captions are complete, computes the exact metrics on rank 0
and broadcasts them.  The gathered data are put in a canonical order (images
by ``sample_idx``, captions by ``text_id``), so the result does not depend on
the number of ranks.
"""
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import (all_gather, broadcast_object_list, get_world_size,
                           is_main_process)
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from torch import Tensor

from ..functional._common import check_topk

_MISSING = object()
_ERROR_KEY = '__sdtr_metric_error__'


def _get(sample: Any, key: str, default: Any = _MISSING) -> Any:
    """Read ``key`` from a dict or a data element (data or metainfo)."""
    if isinstance(sample, dict):
        value = sample.get(key, default)
    elif isinstance(sample, BaseDataElement):
        value = sample.get(key, default)
    else:
        value = getattr(sample, key, default)
    if value is _MISSING:
        raise KeyError(
            f'data sample has no field {key!r}; the retrieval metrics expect '
            'the predict() outputs described in docs/architecture.md '
            '(img_feat, text_feats, sample_idx, text_ids, pid, text_pids)')
    return value


def _as_long_list(x) -> List[int]:
    if isinstance(x, Tensor):
        return [int(v) for v in x.flatten().tolist()]
    if isinstance(x, (int, )):
        return [int(x)]
    return [int(v) for v in x]


class BaseRetrievalMetric(BaseMetric):
    """Base of :class:`RSITRRecall` and :class:`PersonSearchMetric`.

    Args:
        topk (int | sequence[int]): K of R@K. Defaults to (1, 5, 10).
        chunk_size (int | (int, int), optional): work-block shape of the
            chunked computation (see ``sdtr.evaluation.functional``).
        max_memory (int, optional): byte budget of the work buffers when
            ``chunk_size`` is not given.
        device (str): where rank 0 computes the metric: ``'auto'`` (CUDA if
            available, else CPU), ``'cpu'`` or ``'cuda'``.
        collect_device (str): kept for API compatibility with
            :class:`mmengine.evaluator.BaseMetric`; records are always
            gathered through the process group's own device.
        prefix (str, optional): key prefix; defaults to ``default_prefix``.
    """

    #: whether ``pid`` / ``text_pids`` must be present on every sample
    requires_pids = False

    def __init__(self,
                 topk: Union[int, Sequence[int]] = (1, 5, 10),
                 chunk_size: Optional[Union[int, Tuple[int, int]]] = None,
                 max_memory: Optional[int] = None,
                 device: str = 'auto',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = check_topk(topk)
        self.chunk_size = chunk_size
        self.max_memory = max_memory
        if device not in ('auto', 'cpu', 'cuda') and not str(
                device).startswith('cuda:'):
            raise ValueError(f'device must be auto, cpu or cuda, got {device}')
        self.device = device

    # ------------------------------------------------------------------
    # process
    # ------------------------------------------------------------------
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store the features and ids of every predicted test item."""
        for sample in data_samples:
            self.results.append(self._make_record(sample))

    def _make_record(self, sample: Any) -> dict:
        img_feat = torch.as_tensor(_get(sample, 'img_feat'))
        text_feats = torch.as_tensor(_get(sample, 'text_feats'))
        if img_feat.dim() != 1:
            raise ValueError('img_feat must be a [D] tensor, got shape '
                             f'{tuple(img_feat.shape)}')
        text_ids = _as_long_list(_get(sample, 'text_ids'))
        if text_feats.dim() == 1 and text_feats.numel() == 0:
            text_feats = text_feats.reshape(0, img_feat.numel())
        if text_feats.dim() != 2 or text_feats.shape[0] != len(text_ids) \
                or text_feats.shape[1] != img_feat.shape[0]:
            raise ValueError(
                f'text_feats must be [len(text_ids)={len(text_ids)}, D='
                f'{img_feat.shape[0]}], got {tuple(text_feats.shape)}')
        sample_idx = int(_get(sample, 'sample_idx'))
        image_id = int(_get(sample, 'image_id', sample_idx))
        pid = _get(sample, 'pid', None)
        if pid is None:
            if self.requires_pids:
                raise KeyError(f'{type(self).__name__} needs the field pid')
            pid = image_id
        text_pids = _get(sample, 'text_pids', None)
        if text_pids is None:
            if self.requires_pids:
                raise KeyError(
                    f'{type(self).__name__} needs the field text_pids')
            text_pids = [int(pid)] * len(text_ids)
        text_pids = _as_long_list(text_pids)
        if len(text_pids) != len(text_ids):
            raise ValueError('text_pids and text_ids have different lengths')
        return dict(
            sample_idx=sample_idx,
            image_id=image_id,
            pid=int(pid),
            img_feat=img_feat.detach().to('cpu', torch.float32),
            text_feats=text_feats.detach().to('cpu', torch.float32),
            text_ids=torch.tensor(text_ids, dtype=torch.long),
            text_pids=torch.tensor(text_pids, dtype=torch.long))

    # ------------------------------------------------------------------
    # gather / merge
    # ------------------------------------------------------------------
    @staticmethod
    def _pack(records: List[dict]) -> Dict[str, Tensor]:
        """Records -> 4 tensors (item meta, image feats, text meta, text
        feats)."""
        dim = records[0]['img_feat'].numel() if records else 0
        n_texts = [r['text_ids'].numel() for r in records]
        item_meta = torch.tensor(
            [[r['sample_idx'], r['image_id'], r['pid'], n]
             for r, n in zip(records, n_texts)],
            dtype=torch.long).reshape(-1, 4)
        img = torch.stack([r['img_feat'] for r in records]) if records \
            else torch.zeros(0, dim)
        if sum(n_texts):
            text_meta = torch.stack([
                torch.cat([r['text_ids'] for r in records]),
                torch.cat([r['text_pids'] for r in records])
            ], 1)
            txt = torch.cat([r['text_feats'] for r in records])
        else:
            text_meta = torch.zeros(0, 2, dtype=torch.long)
            txt = torch.zeros(0, dim)
        return dict(item_meta=item_meta, img=img, text_meta=text_meta,
                    txt=txt)

    @staticmethod
    def _all_gather_packed(packed: Dict[str, Tensor]) -> List[Dict]:
        """All-gather the packed tensors of every rank (padded, trimmed)."""
        if get_world_size() == 1:
            return [packed]
        keys = ['item_meta', 'img', 'text_meta', 'txt']
        shape = torch.tensor([packed['img'].shape[0], packed['txt'].shape[0],
                              packed['img'].shape[1]], dtype=torch.long)
        shapes = torch.stack(all_gather(shape))
        dims = {int(d) for d, n in zip(shapes[:, 2], shapes[:, 0]) if n > 0}
        if len(dims) > 1:
            raise ValueError(f'ranks produced features of different widths '
                             f'{sorted(dims)}')
        dim = dims.pop() if dims else 0
        n_max, m_max = int(shapes[:, 0].max()), int(shapes[:, 1].max())
        rows = dict(item_meta=n_max, img=n_max, text_meta=m_max, txt=m_max)
        gathered = {}
        for key in keys:
            t = packed[key]
            if key in ('img', 'txt') and t.shape[1] != dim:
                t = t.new_zeros(t.shape[0], dim)
            pad = t.new_zeros((rows[key], ) + tuple(t.shape[1:]))
            pad[:t.shape[0]] = t
            gathered[key] = all_gather(pad)
        parts = []
        for r in range(len(shapes)):
            n, m = int(shapes[r, 0]), int(shapes[r, 1])
            parts.append(
                dict(item_meta=gathered['item_meta'][r][:n],
                     img=gathered['img'][r][:n],
                     text_meta=gathered['text_meta'][r][:m],
                     txt=gathered['txt'][r][:m]))
        return parts

    @staticmethod
    def _merge(parts: List[Dict[str, Tensor]],
               size: Optional[int]) -> Dict[str, Tensor]:
        """Deduplicate, check completeness and order canonically."""
        item_meta = torch.cat([p['item_meta'] for p in parts])
        text_meta = torch.cat([p['text_meta'] for p in parts])
        dims = {p['img'].shape[1] for p in parts if p['img'].shape[0]}
        if len(dims) != 1:
            raise ValueError('no test item was processed' if not dims else
                             f'inconsistent feature widths {sorted(dims)}')
        img = torch.cat([p['img'] for p in parts if p['img'].shape[0]])
        txt_parts = [p['txt'] for p in parts if p['txt'].shape[0]]
        txt = torch.cat(txt_parts) if txt_parts else img.new_zeros(0, 1)
        sample_idx = item_meta[:, 0]
        n_texts = item_meta[:, 3]
        offsets = n_texts.cumsum(0) - n_texts

        # keep the first occurrence of every sample_idx (rank order)
        order = torch.argsort(sample_idx, stable=True)
        s_sorted = sample_idx[order]
        first = torch.ones_like(s_sorted, dtype=torch.bool)
        first[1:] = s_sorted[1:] != s_sorted[:-1]
        keep = order[first]
        dup = order[~first]
        if dup.numel():
            kept_of = dict(zip(sample_idx[keep].tolist(), keep.tolist()))
            for d in dup.tolist():
                k = kept_of[int(sample_idx[d])]
                a = text_meta[offsets[k]:offsets[k] + n_texts[k], 0]
                b = text_meta[offsets[d]:offsets[d] + n_texts[d], 0]
                if not torch.equal(a, b):
                    raise ValueError(
                        f'sample_idx {int(sample_idx[d])} was evaluated twice '
                        'with different text_ids; samples must be unique '
                        'apart from sampler padding')
        present = sample_idx[keep]
        expected = size if size is not None else present.numel()
        if present.numel() != expected or not torch.equal(
                present, torch.arange(expected)):
            pset = set(present.tolist())
            missing = sorted(set(range(expected)) - pset)
            extra = sorted(pset - set(range(expected)))
            raise ValueError(
                f'incomplete retrieval gallery: expected sample_idx 0..'
                f'{expected - 1}; {len(missing)} missing (first '
                f'{missing[:10]}), {len(extra)} unexpected (first '
                f'{extra[:10]}). Was the whole test set evaluated?')

        # captions of the kept items, gallery index = position of its item
        lens = n_texts[keep]
        starts = offsets[keep]
        total = int(lens.sum())
        base = torch.repeat_interleave(starts - (lens.cumsum(0) - lens), lens)
        rows = base + torch.arange(total)
        owner = torch.repeat_interleave(torch.arange(keep.numel()), lens)
        text_ids = text_meta[rows, 0]
        perm = torch.argsort(text_ids, stable=True)
        text_ids = text_ids[perm]
        if not torch.equal(text_ids, torch.arange(total)):
            uniq, cnt = torch.unique(text_ids, return_counts=True)
            dups = uniq[cnt > 1][:10].tolist()
            missing = sorted(set(range(total)) - set(uniq.tolist()))
            raise ValueError(
                f'caption ids must be 0..{total - 1} exactly once; '
                f'duplicated: {dups}, missing (first): {missing[:10]}, '
                f'range seen: [{int(text_ids.min()) if total else "-"}, '
                f'{int(text_ids.max()) if total else "-"}]')
        rows = rows[perm]
        return dict(
            img=img[keep],
            img_pids=item_meta[keep, 2],
            image_ids=item_meta[keep, 1],
            txt=txt[rows] if total else txt,
            txt2img=owner[perm],
            txt_pids=text_meta[rows, 1])

    # ------------------------------------------------------------------
    # evaluate
    # ------------------------------------------------------------------
    def _compute_device(self) -> torch.device:
        if self.device == 'auto':
            return torch.device(
                'cuda' if torch.cuda.is_available() else 'cpu')
        return torch.device(self.device)

    def compute_metrics(self, results: list) -> dict:
        """Metrics from the records of a single process (no gathering)."""
        data = self._merge([self._pack(results)], None)
        return self.compute_from_data(data)

    def compute_from_data(self, data: Dict[str, Tensor]) -> dict:
        raise NotImplementedError

    def evaluate(self, size: int) -> dict:
        """Gather, deduplicate, check and compute (rank 0), broadcast."""
        if len(self.results) == 0:
            print_log(f'{type(self).__name__}: this rank processed no item',
                      logger='current', level=logging.WARNING)
        parts = self._all_gather_packed(self._pack(self.results))
        self.results.clear()
        metrics: list = [None]
        error = None
        if is_main_process():
            try:
                data = self._merge(parts, size)
                del parts
                result = self.compute_from_data(data)
            except Exception as e:  # tell the other ranks before raising
                error = e
                metrics = [{_ERROR_KEY: f'{type(e).__name__}: {e}'}]
            else:
                if self.prefix:
                    result = {
                        f'{self.prefix}/{k}': v
                        for k, v in result.items()
                    }
                metrics = [result]
        broadcast_object_list(metrics)
        if error is not None:
            raise error
        if _ERROR_KEY in metrics[0]:
            raise RuntimeError('metric computation failed on rank 0: ' +
                               metrics[0][_ERROR_KEY])
        return metrics[0]
