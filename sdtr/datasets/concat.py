"""Concatenation of retrieval datasets (RET-2, RET-3) with de-duplication."""
import json
import logging
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence, Union

import numpy as np
from mmengine.logging import print_log

from sdtr.registry import DATASETS
from .base_retrieval_dataset import BaseRetrievalDataset
from .utils import (average_hash, file_md5, hamming_matrix,
                    thumbnail_distance)

DEDUPE_KEYS = ('md5', 'ahash', 'filename', None)


def _build(ds) -> BaseRetrievalDataset:
    if isinstance(ds, BaseRetrievalDataset):
        return ds
    if isinstance(ds, dict):
        cfg = dict(ds)
        cfg.pop('pipeline', None)
        return DATASETS.build(cfg)
    raise TypeError('expected a retrieval dataset or its config dict, got '
                    f'{type(ds).__name__}')


@DATASETS.register_module()
class RetrievalConcatDataset(BaseRetrievalDataset):
    """Several retrieval datasets seen as one (e.g. RET-2 = RSICD + RSITMD,
    RET-3 = RET-2 + UCM-captions), in train or test mode.

    The member datasets are parsed with their own settings (annotation
    format, scene rule, skip mode); their image records are concatenated in
    order and then indexed like any :class:`BaseRetrievalDataset`:
    ``image_id`` and ``text_ids`` are contiguous over the concatenation (test
    mode keeps **one** gallery), scene labels are re-numbered over the
    sorted union of scene names (``airport`` of RSICD and of RSITMD is one
    class), and person identities ``(member, pid)`` are relabelled
    contiguously, i.e. offset by the number of identities of the previous
    members.

    Duplicate removal (``dedupe``): images of the concatenation that are
    duplicates of an image of any ``exclude`` dataset (typically the test
    splits of every member, to avoid train/test leakage) are dropped, and
    with ``dedupe_within=True`` only the first copy of an image repeated
    inside the concatenation is kept.  Keys:

    * ``'md5'``: identical file bytes;
    * ``'ahash'``: perceptual average hash (``ahash_size`` x ``ahash_size``
      grayscale thumbnail, one bit per cell) with Hamming distance
      ``<= ahash_threshold``, confirmed pixel-wise: the 99th percentile of
      the absolute difference of 32x32 grayscale thumbnails must be
      ``<= ahash_verify`` grey levels.  Catches the same scene re-encoded or
      resized (tif vs jpg, png vs jpg: about 0-12 levels) while images that
      only share a coarse layout (hash collisions, 40+ levels) are kept;
    * ``'filename'``: identical base names (only safe inside one dataset:
      RSICD and RSITMD both use names like ``airport_1``).

    What was removed is logged and kept in :attr:`removed_duplicates`
    (``dedupe_report`` also writes it to a json file).

    Args:
        datasets (list[dict | BaseRetrievalDataset]): members (their
            ``pipeline`` is ignored; this dataset's ``pipeline`` is used).
        exclude (list[dict | BaseRetrievalDataset]): datasets whose images
            must not appear here.
        dedupe (str | None): ``'md5'``, ``'ahash'``, ``'filename'`` or None.
        dedupe_within (bool): also drop repeats inside the concatenation.
        ahash_size (int): thumbnail side of the average hash (16 -> 256
            bits).
        ahash_threshold (int): largest Hamming distance of two candidate
            duplicates.
        ahash_verify (float, optional): largest 99th-percentile pixel
            difference of confirmed duplicates (None: hash only).
        hash_workers (int): threads used to hash images.
        dedupe_report (str, optional): json file to write the removals to.
        **kwargs: see :class:`BaseRetrievalDataset` (``split``,
            ``test_mode``, ``pipeline``, ...; ``ann_file`` is unused).
    """

    DATASET_NAME = 'concat'

    def __init__(self,
                 datasets: Sequence[Union[dict, BaseRetrievalDataset]],
                 exclude: Sequence[Union[dict, BaseRetrievalDataset]] = (),
                 dedupe: Optional[str] = 'md5',
                 dedupe_within: bool = True,
                 ahash_size: int = 16,
                 ahash_threshold: int = 10,
                 ahash_verify: Optional[float] = 24,
                 hash_workers: int = 4,
                 dedupe_report: Optional[str] = None,
                 **kwargs):
        if dedupe not in DEDUPE_KEYS:
            raise ValueError(f'dedupe must be one of {DEDUPE_KEYS}, got '
                             f'{dedupe!r}')
        if not datasets:
            raise ValueError('RetrievalConcatDataset needs at least one '
                             'dataset')
        self._member_cfgs = list(datasets)
        self._exclude_cfgs = list(exclude)
        self.dedupe = dedupe
        self.dedupe_within = dedupe_within
        self.ahash_size = ahash_size
        self.ahash_threshold = ahash_threshold
        self.ahash_verify = ahash_verify
        self.hash_workers = hash_workers
        self.dedupe_report = dedupe_report
        self.removed_duplicates: List[dict] = []
        self.members: List[BaseRetrievalDataset] = []
        self.member_sizes: List[int] = []
        kwargs.setdefault('relabel_pids', True)
        kwargs.setdefault('check_images', False)  # members already checked
        # scene names come from the members (their own scene_rule)
        kwargs.setdefault('scene_rule', None)
        super().__init__(**kwargs)

    # ------------------------------------------------------------------
    def parse_annotations(self) -> List[dict]:
        self.members = [_build(d) for d in self._member_cfgs]
        domains = {m.DOMAIN for m in self.members}
        if len(domains) != 1:
            raise ValueError('cannot concatenate datasets of different '
                             f'domains {sorted(domains)}')
        self.DOMAIN = domains.pop()
        records = []
        for k, m in enumerate(self.members):
            name = f'{type(m).__name__}#{k}'
            for s in m.skipped_samples:
                self.skipped_samples.append(dict(s))
            for rec in m.image_records:
                new = dict(
                    img_path=rec['img_path'], captions=list(rec['captions']),
                    label_name=rec.get('label_name'), file=rec.get('file'),
                    entry=f"{name} {rec.get('entry')}", member=k)
                if self.DOMAIN == 'person':
                    new['pid'] = (k, rec['pid'])
                records.append(new)
        if self.dedupe is not None:
            records = self._remove_duplicates(records)
        self.member_sizes = [
            sum(1 for r in records if r['member'] == k)
            for k in range(len(self.members))]
        return records

    # ------------------------------------------------------------------
    def _keys(self, paths: List[str]):
        if self.dedupe == 'filename':
            return [osp.basename(p) for p in paths]
        if self.dedupe == 'md5':
            fn = file_md5
        else:
            thumb = 32 if self.ahash_verify is not None else 0

            def fn(p):
                return average_hash(p, self.ahash_size, thumb_size=thumb)

        if not paths:
            return []
        workers = max(1, min(self.hash_workers, len(paths)))
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(fn, paths))

    def _matches(self, keys, ref_keys, before_only=False):
        """For each key, the references it duplicates as a list of
        ``(index, distance)`` (closest first).  With ``before_only`` the
        references are ``keys`` themselves and only earlier ones count."""
        out = [[] for _ in keys]
        if not keys or not ref_keys:
            return out
        if self.dedupe != 'ahash':
            where = {}
            for j, k in enumerate(ref_keys):
                where.setdefault(k, []).append(j)
            for i, k in enumerate(keys):
                out[i] = [(j, 0) for j in where.get(k, ())
                          if not before_only or j < i]
            return out
        verify = self.ahash_verify is not None
        bits = np.stack([k[0] if verify else k for k in keys])
        ref_bits = np.stack([k[0] if verify else k for k in ref_keys])
        ref_thumbs = np.stack([k[1] for k in ref_keys]) if verify else None
        chunk = max(1, (1 << 25) // max(1, ref_bits.size))
        for s in range(0, len(bits), chunk):
            d = hamming_matrix(bits[s:s + chunk], ref_bits)
            for r in np.nonzero((d <= self.ahash_threshold).any(1))[0]:
                i = s + int(r)
                cand = np.nonzero(d[r] <= self.ahash_threshold)[0]
                if before_only:
                    cand = cand[cand < i]
                if verify and len(cand):
                    pix = thumbnail_distance(keys[i][1], ref_thumbs[cand])
                    cand = cand[pix <= self.ahash_verify]
                cand = sorted(cand.tolist(), key=lambda j: (d[r, j], j))
                out[i] = [(j, int(d[r, j])) for j in cand]
        return out

    def _remove_duplicates(self, records: List[dict]) -> List[dict]:
        paths = [r['img_path'] for r in records]
        print_log(f'RetrievalConcatDataset: hashing {len(paths)} images '
                  f'({self.dedupe}) to remove duplicates', logger='current',
                  level=logging.INFO)
        keys = self._keys(paths)
        removed = [None] * len(records)
        ex_paths = []
        for d in self._exclude_cfgs:
            ex_paths.extend(_build(d).img_paths)
        if ex_paths:
            ex_keys = self._keys(ex_paths)
            for i, m in enumerate(self._matches(keys, ex_keys)):
                if m:
                    removed[i] = dict(
                        img_path=paths[i], matched=ex_paths[m[0][0]],
                        reason='in an excluded dataset', distance=m[0][1])
        if self.dedupe_within:
            # greedy: keep the first copy; an image only counts as a repeat
            # of an earlier image that is itself kept
            for i, m in enumerate(self._matches(keys, keys, True)):
                if removed[i] is not None:
                    continue
                for j, dist in m:
                    if removed[j] is None:
                        removed[i] = dict(
                            img_path=paths[i], matched=paths[j],
                            reason='repeated inside the concatenation',
                            distance=dist)
                        break
        self.removed_duplicates = [r for r in removed if r is not None]
        n = len(self.removed_duplicates)
        if n:
            shown = '; '.join(f"{r['img_path']} ~ {r['matched']} "
                              f"({r['reason']}, d={r['distance']})"
                              for r in self.removed_duplicates[:20])
            print_log(
                f'RetrievalConcatDataset: removed {n} duplicate images '
                f'(key {self.dedupe}): {shown}'
                + (f' ... and {n - 20} more (see .removed_duplicates)'
                   if n > 20 else ''),
                logger='current', level=logging.WARNING)
        else:
            print_log('RetrievalConcatDataset: no duplicate images found '
                      f'(key {self.dedupe})', logger='current',
                      level=logging.INFO)
        if self.dedupe_report:
            os.makedirs(osp.dirname(osp.abspath(self.dedupe_report)),
                        exist_ok=True)
            with open(self.dedupe_report, 'w') as f:
                json.dump(self.removed_duplicates, f, indent=1)
        return [r for r, rm in zip(records, removed) if rm is None]
