"""Streaming image-caption pairs from webdataset-layout tar shards.

The stage-1 data of PIR-CLIP (RS5M, ~5M pairs; PIR §IV-C3, §V-C, see
docs/methods/pir.md#14-pir-clip-settings) are too many files, so they
are read sequentially from tar shards (layout in
:mod:`sdtr.datasets.shard_utils`).

**Sources.**  Shards are local files or URLs (``https://``, ``s3://``,
``pipe:<command>``, ...) opened through the ``webdataset`` library
(:func:`sdtr.datasets.shard_utils.open_shard`), so RS5M can be streamed from
an object store; splitting and resampling are the same for both.

**Splitting.**  With ``R`` ranks and ``W`` dataloader workers per rank, one
*pass* over the data is the concatenation of all shards, in an order that is
a permutation of the shards seeded by ``(seed, epoch, pass)`` (identical on
every rank) when ``shuffle`` is on.  Its ``N`` samples are cut into ``R``
contiguous rank blocks ``[\\lfloor rN/R \\rfloor, \\lfloor (r+1)N/R
\\rfloor)``, each cut again into ``W`` worker blocks, so every (rank, worker)
slot reads only the shards overlapping its block (skipping inside the first
one) and no two slots ever read the same sample of a pass.

* ``resampled=False`` (exact): one pass per epoch; every sample is yielded
  exactly once per epoch across all ranks x workers (no padding, no drop),
  ``len(dataset)`` is the size of this rank's block.  Ranks may differ by
  one sample; use it for complete passes (and ``drop_last=True`` in DDP
  training).
* ``resampled=True`` (pre-training, as open_clip's ``--dataset-resampled``):
  the stream of each slot runs over successive passes (new shard
  permutation each pass) until the slot's quota is met, so an epoch can be
  any size (``epoch_size``, default one pass), shard counts need not divide
  ``R x W``, every rank yields the same number of samples, and within each
  pass the slots still never duplicate each other.

A seeded shuffle buffer (``shuffle_buffer``) mixes the samples of a slot.

**Epochs.**  The epoch number comes from :meth:`set_epoch` (called by
:class:`~sdtr.engine.hooks.DatasetEpochHook` before every training epoch)
plus the number of times this copy of the dataset was iterated since then,
which keeps epochs distinct with persistent workers (whose copies never see
``set_epoch``) and without them.

**Samples** follow the train-sample contract of ``docs/architecture.md``:
``text``, ``image_id == pid == sample_idx`` (the global index of the pair, so
only the pair itself is a contrastive positive), ``label`` (scene label),
``img_path`` (``<shard>#<key>``) and the decoded ``img`` (BGR uint8) for the
pipeline, which must *not* start with ``LoadImage``.

**Scene labels** (PIR's affiliation loss): the scene name is the ``scene``
field of ``<key>.json`` if present, else derived from its ``img_name`` (or
an ``<key>.img_name`` member, upstream PIR-CLIP's RS5M field) with
:func:`sdtr.datasets.utils.scene_name_from_filename` (prefix before the
first ``_``).  The label id is the name's position in ``scene_classes``
(given, or the index's ``scene_classes``); with no class list it is a stable
56-bit hash of the name, identical on every rank and worker, so class
centres over the global batch group the same scenes.  No name: ``-1``.
"""
import hashlib
import logging
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
from mmengine.dataset import Compose
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from torch.utils.data import IterableDataset, get_worker_info

from sdtr.registry import DATASETS
from .errors import BadSampleError
from .shard_utils import (IMAGE_EXTS, count_tar_samples, expand_braces,
                          index_location, is_url, iter_tar_samples,
                          join_shard, read_index)
from .utils import decode_image, scene_name_from_filename

TEXT_EXTS = ('txt', 'text', 'caption')
EXTRA_IMAGE_KEYS = ('img_content', )


def stable_label(name: str) -> int:
    """A 56-bit label id of a scene name, the same in every process."""
    return int.from_bytes(
        hashlib.blake2b(name.encode('utf-8'), digest_size=7).digest(), 'big')


def _split(n: int, parts: int, i: int) -> tuple:
    return (n * i) // parts, (n * (i + 1)) // parts


@DATASETS.register_module()
class WebDatasetCaptionDataset(IterableDataset):
    """Image-caption pairs streamed from tar shards.

    Args:
        shards (str | Sequence[str]): a folder holding ``shards.json``, an
            index (``.../shards.json``, a path or URL; a URL ending in ``/``
            means ``<url>shards.json``), a brace pattern
            (``'data/rs5m/rs5m-{000000..000499}.tar'``,
            ``'https://host/rs5m-{000000..000499}.tar'``), one tar file, or a
            list of them.  Shards may be local paths or URLs read through
            webdataset (``https://``, ``s3://``, ``pipe:<command>``, ...; see
            :mod:`sdtr.datasets.shard_utils`).  Without an index the shards
            are read once to count their samples.
        pipeline (list): transforms applied to each sample (start from the
            decoded ``img``; e.g. RandomResizedCrop, PackRetrievalInputs).
        resampled (bool): stream mode (see module doc).
        epoch_size (int, optional): samples per epoch over all ranks in
            resampled mode (default: one pass).
        shuffle (bool): permute the shards per pass and use the shuffle
            buffer.
        shuffle_buffer (int): buffer size (0 disables it).
        seed (int): base seed of every permutation and buffer.
        scene_classes (Sequence[str] | str, optional): class list or a text
            file with one class per line.
        scene_rule (str): rule for names without a ``scene`` field.
        skip_bad_samples (bool): log and skip samples without a decodable
            image or caption instead of raising.
        rank, world_size (int, optional): override the distributed info.
        data_root (str): joined with relative shard paths.
    """

    def __init__(self,
                 shards: Union[str, Sequence[str]],
                 pipeline: Sequence = (),
                 resampled: bool = False,
                 epoch_size: Optional[int] = None,
                 shuffle: bool = True,
                 shuffle_buffer: int = 1000,
                 seed: int = 0,
                 scene_classes: Union[Sequence[str], str, None] = None,
                 scene_rule: str = 'prefix',
                 skip_bad_samples: bool = False,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None,
                 data_root: str = '',
                 test_mode: bool = False):
        super().__init__()
        if test_mode:
            raise ValueError('WebDatasetCaptionDataset is a training '
                             'stream; use a caption dataset with '
                             'test_mode=True for val/test galleries')
        self.test_mode = False
        for t in pipeline:
            name = t.get('type') if isinstance(t, dict) else type(t).__name__
            if name in ('LoadImage', 'sdtr.LoadImage'):
                raise ValueError(
                    'WebDatasetCaptionDataset decodes the image bytes of the '
                    'shards itself: remove LoadImage from its pipeline')
        self.pipeline = Compose(list(pipeline))
        self.data_root = data_root
        self.shard_files, self.shard_sizes, index_classes = \
            self._resolve_shards(shards)
        self.num_samples_total = int(sum(self.shard_sizes))
        if self.num_samples_total == 0:
            raise BadSampleError('the shards hold no sample',
                                 file=str(shards))
        self._starts = np.concatenate(
            [[0], np.cumsum(self.shard_sizes)[:-1]]).astype(np.int64)
        self.resampled = resampled
        if epoch_size is not None and epoch_size < 1:
            raise ValueError(f'epoch_size must be >= 1, got {epoch_size}')
        self.epoch_size = epoch_size
        self.shuffle = shuffle
        self.shuffle_buffer = int(shuffle_buffer) if shuffle else 0
        self.seed = int(seed)
        if isinstance(scene_classes, str):
            with open(scene_classes) as f:
                scene_classes = [ln.strip() for ln in f if ln.strip()]
        if scene_classes is None:
            scene_classes = index_classes
        self.scene_classes = list(scene_classes) \
            if scene_classes is not None else None
        self._class_idx = ({c: i for i, c in enumerate(self.scene_classes)}
                           if self.scene_classes is not None else None)
        self.scene_rule = scene_rule
        self.skip_bad_samples = skip_bad_samples
        d_rank, d_world = get_dist_info()
        self.rank = d_rank if rank is None else int(rank)
        self.world_size = d_world if world_size is None else int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f'rank {self.rank} outside world size '
                             f'{self.world_size}')
        self._epoch = 0
        self._iter_count = 0
        self.metainfo = dict(dataset_name='webdataset_captions',
                             domain='remote_sensing',
                             scene_classes=self.scene_classes,
                             num_samples=self.num_samples_total)

    # ------------------------------------------------------------ shards
    def _resolve_shards(self, shards):
        def rooted(name):
            if self.data_root and not is_url(name) and not osp.isabs(name):
                return osp.join(self.data_root, name)
            return name

        if isinstance(shards, str):
            path = rooted(shards)
            index_path = index_location(path)
            if index_path is not None:
                index = read_index(index_path)
                files = [join_shard(index_path, s['file'])
                         for s in index['shards']]
                sizes = [int(s['num_samples']) for s in index['shards']]
                for f in files:
                    if not is_url(f) and not osp.isfile(f):
                        raise BadSampleError(
                            'shard listed in the index does not exist',
                            file=index_path, entry=f)
                return files, sizes, index.get('scene_classes')
            files = expand_braces(path)
        else:
            files = [rooted(f) for f in shards]
        if not files:
            raise ValueError('no shard given')
        missing = [f for f in files if not is_url(f) and not osp.isfile(f)]
        if missing:
            raise BadSampleError(
                f'{len(missing)} shard file(s) do not exist, e.g. '
                f'{missing[:3]}', file=str(shards))
        remote = sum(is_url(f) for f in files)
        print_log('WebDatasetCaptionDataset: no shards.json, counting the '
                  f'samples of {len(files)} shards' +
                  (f' (reading {remote} of them from their URLs once; give '
                   'a shards.json to skip this)' if remote else ''),
                  logger='current', level=logging.WARNING if remote
                  else logging.INFO)
        return files, [count_tar_samples(f) for f in files], None

    # ------------------------------------------------------------- epochs
    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (resets the local iteration counter)."""
        self._epoch = int(epoch)
        self._iter_count = 0

    def __len__(self) -> int:
        """Samples this rank yields per epoch."""
        if self.resampled:
            total = self.epoch_size or self.num_samples_total
            return -(-total // self.world_size)
        lo, hi = _split(self.num_samples_total, self.world_size, self.rank)
        return hi - lo

    def _pass_order(self, epoch: int, pass_idx: int) -> List[int]:
        order = list(range(len(self.shard_files)))
        if self.shuffle:
            rng = np.random.default_rng([self.seed, epoch, pass_idx])
            order = [int(i) for i in rng.permutation(len(order))]
        return order

    def _read_block(self, order: List[int], lo: int, hi: int
                    ) -> Iterator[tuple]:
        """Samples ``[lo, hi)`` of the pass whose shard order is ``order``:
        yields ``(global_index, shard_file, key, files)``."""
        pos = 0
        for s in order:
            n = self.shard_sizes[s]
            a, b = max(lo, pos), min(hi, pos + n)
            if a < b:
                skip, take, seen = a - pos, b - a, 0
                path = self.shard_files[s]
                for local, (key, files) in enumerate(iter_tar_samples(path)):
                    if local < skip:
                        continue
                    yield int(self._starts[s]) + local, path, key, files
                    seen += 1
                    if seen == take:
                        break
                if seen < take:
                    raise BadSampleError(
                        f'the shard has {skip + seen} samples, the index '
                        f'says {n}; rewrite shards.json (make_shards.py '
                        '--index)', file=path)
            pos += n
            if pos >= hi:
                break

    def _slot(self):
        info = get_worker_info()
        if info is None:
            return 0, 1
        return info.id, info.num_workers

    def _raw_stream(self, epoch: int) -> Iterator[tuple]:
        worker, num_workers = self._slot()
        n = self.num_samples_total
        r_lo, r_hi = _split(n, self.world_size, self.rank)
        w_lo, w_hi = _split(r_hi - r_lo, num_workers, worker)
        if not self.resampled:
            yield from self._read_block(self._pass_order(epoch, 0),
                                        r_lo + w_lo, r_lo + w_hi)
            return
        if w_hi <= w_lo:
            raise ValueError(
                f'{n} samples cannot feed {self.world_size} ranks x '
                f'{num_workers} workers: every worker needs at least one')
        quota = _split(len(self), num_workers, worker)
        quota = quota[1] - quota[0]
        done, pass_idx = 0, 0
        while done < quota:
            for item in self._read_block(self._pass_order(epoch, pass_idx),
                                         r_lo + w_lo, r_lo + w_hi):
                yield item
                done += 1
                if done == quota:
                    return
            pass_idx += 1

    def _shuffled(self, stream, epoch):
        if self.shuffle_buffer <= 1:
            yield from stream
            return
        worker, _ = self._slot()
        rng = np.random.default_rng([self.seed, epoch, self.rank, worker,
                                     7919])
        buf = []
        for item in stream:
            if len(buf) < self.shuffle_buffer:
                buf.append(item)
                continue
            j = int(rng.integers(len(buf)))
            buf[j], item = item, buf[j]
            yield item
        rng.shuffle(buf)
        yield from buf

    # ------------------------------------------------------------ samples
    def _scene(self, meta: dict, files: Dict[str, bytes]) -> Optional[str]:
        scene = meta.get('scene')
        if isinstance(scene, str) and scene:
            return scene
        name = meta.get('img_name')
        if name is None and 'img_name' in files:
            name = files['img_name'].decode('utf-8', 'replace').strip()
        if isinstance(name, str) and name:
            return scene_name_from_filename(name, self.scene_rule)
        return None

    def _label(self, scene: Optional[str]) -> int:
        if scene is None:
            return -1
        if self._class_idx is not None:
            return self._class_idx.get(scene, -1)
        return stable_label(scene)

    def parse_sample(self, index: int, shard: str, key: str,
                     files: Dict[str, bytes]) -> dict:
        """Decode one tar sample into a train data-info dict."""
        import json
        entry = f'key {key!r}'
        img_ext = next((e for e in IMAGE_EXTS + EXTRA_IMAGE_KEYS
                        if e in files), None)
        if img_ext is None:
            raise BadSampleError(
                f'sample has no image member (got {sorted(files)}); expected '
                f'one of {IMAGE_EXTS + EXTRA_IMAGE_KEYS}', file=shard,
                entry=entry)
        txt_ext = next((e for e in TEXT_EXTS if e in files), None)
        if txt_ext is None:
            raise BadSampleError(
                f'sample has no caption member (got {sorted(files)}); '
                f'expected one of {TEXT_EXTS}', file=shard, entry=entry)
        text = files[txt_ext].decode('utf-8', 'replace').strip()
        if not text:
            raise BadSampleError('empty caption', file=shard, entry=entry)
        meta = {}
        if 'json' in files:
            try:
                meta = json.loads(files['json'].decode('utf-8'))
            except ValueError as err:
                raise BadSampleError(f'invalid json member ({err})',
                                     file=shard, entry=entry) from err
            if not isinstance(meta, dict):
                raise BadSampleError('the json member must be an object',
                                     file=shard, entry=entry)
        img = decode_image(files[img_ext], filename=f'{shard}#{key}')
        scene = self._scene(meta, files)
        return dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                    text=text, image_id=index, pid=index,
                    label=self._label(scene), scene=scene,
                    img_path=f'{shard}#{key}', sample_idx=index)

    def __iter__(self):
        epoch = self._epoch + self._iter_count
        self._iter_count += 1
        stream = self._shuffled(self._raw_stream(epoch), epoch)
        for index, shard, key, files in stream:
            try:
                info = self.parse_sample(index, shard, key, files)
            except BadSampleError as err:
                if not self.skip_bad_samples:
                    raise
                print_log(f'WebDatasetCaptionDataset: skipping {err}',
                          logger='current', level=logging.WARNING)
                continue
            yield self.pipeline(info)
