"""A gallery index on disk: exact or approximate top-k search with FAISS.

An index is a folder::

    INDEX/
      meta.json          format, kind ('image'|'text'), dim, count, index
                         type and parameters, model fingerprint, digests of
                         the rows and of the FAISS file, provenance
      vectors.f32        the L2-normalised features, raw row-major float32
                         (vectors.f16 for float16), count x dim
      items.jsonl        one JSON string per line: the item names (image
                         paths or captions), in row order
      items.offsets      int64 byte offset of every line of items.jsonl
      index-<count>-<pid>.faiss  the FAISS index (ivfpq / hnsw only)

Every file is opened memory-mapped: features, item names and (for IVF-PQ)
the inverted lists stay on disk and are paged in by the operating system
as searches touch them, so a gallery larger than memory can be searched and
opening one costs almost nothing.  ``meta.json`` is written last and
atomically; ``count`` in it is the truth, so an :meth:`SearchIndex.add`
that is interrupted leaves the index as it was.

Integrity (:mod:`sdtr.search.integrity`): ``meta.json`` holds digests of
the rows, per chunk of 256 KiB of vectors, checked the first time a search
or an item read touches a chunk; a changed row (swapped, overwritten, NaN)
is refused with an error naming the file.  Non-finite features are refused
when they are added.  :meth:`SearchIndex.verify` checks everything at once
and leaves the index in the page cache (``--warm`` of the tools).

Index types (``index_type``):

* ``'flat'`` (default): exact.  Scores every gallery row (inner product of
  L2-normalised features = cosine, as every sdtr retriever ranks).  Uses
  ``faiss.knn`` on the memory-mapped float32 vectors when ``faiss`` is
  installed, else :func:`sdtr.search.topk.topk_search`; both give the same
  ranking, ties by the lower gallery row.
* ``'ivfpq'``: FAISS ``IndexIVFPQ`` (Jegou et al., "Product quantization for
  nearest neighbor search", TPAMI 2011): ``nlist`` k-means cells, each
  vector stored as ``m`` codes of ``nbits``; a query scans ``nprobe``
  cells.  Candidates are re-scored exactly from the stored vectors
  (``rerank`` times ``k`` of them, as FAISS' ``IndexRefineFlat`` does),
  which recovers most of the recall lost to quantisation.  Needs a
  training sample (:meth:`SearchIndex.train`).
* ``'hnsw'``: FAISS ``IndexHNSWFlat`` (Malkov & Yashunin, "Efficient and
  robust approximate nearest neighbor search using Hierarchical Navigable
  Small World graphs", TPAMI 2018): a graph with ``M`` links per node,
  searched with a beam of ``ef_search``; no training, but the graph lives
  in memory.

Searches use :func:`sdtr.search.threads.search_threads` threads (the free
cores by default).  ``tools/analysis_tools/benchmark_index.py`` measures
build time, size, latency and recall@10 of each type against plain FAISS;
the README recommends one per gallery size from those numbers.  GPU FAISS
(``faiss-gpu``), when installed, runs IVF-PQ on every visible GPU
(``use_gpu=True``); a flat index on a CUDA device is searched with
:func:`topk_search` on the GPU.
"""
import json
import math
import os
import os.path as osp
import time
import warnings
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from sdtr.checkpoint.sources import sha256_file
from sdtr.utils.errors import SdtrError
from .faiss_ops import (faiss_available, import_faiss, inner_products,
                        new_index, read_for_search, rescore, search_params)
from .fingerprint import fingerprint_mismatch
from .integrity import RowDigests, chunk_digests, rows_per_chunk
from .items import ItemStore
from .threads import faiss_threads, search_threads, torch_threads
from .topk import select_topk, sort_ties, topk_search

FORMAT_TAG = 'sdtr-index-v2'
#: formats written before the digests existed: opened unchecked
UNCHECKED_FORMATS = ('sdtr-index-v1', )
INDEX_TYPES = ('flat', 'ivfpq', 'hnsw')
META_FILE = 'meta.json'
_DTYPES = {'float32': (np.float32, 'f32'), 'float16': (np.float16, 'f16')}


def is_index_dir(path) -> bool:
    """Whether ``path`` is a folder holding an sdtr index."""
    return isinstance(path, (str, os.PathLike)) and osp.isfile(
        osp.join(str(path), META_FILE))


def _atomic_json(path: str, data: dict) -> None:
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def as_features(features, dim: Optional[int] = None,
                names: Optional[Sequence[str]] = None) -> np.ndarray:
    """``features`` as a C-contiguous float32 ``[N, D]`` array; refuses
    another width and NaN or inf values (naming the rows, and their items
    when ``names`` are given): a non-finite row would never be returned by
    a search."""
    if isinstance(features, torch.Tensor):
        features = features.detach().float().cpu().numpy()
    if not (type(features) is np.ndarray and features.dtype == np.float32
            and features.flags.c_contiguous):
        features = np.ascontiguousarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f'features must be [N, D], got shape '
                         f'{features.shape}')
    if dim is not None and features.shape[1] != dim:
        raise ValueError(f'features have dim {features.shape[1]}, the index '
                         f'has dim {dim}')
    # one sum detects NaN/inf (and costs one call per query); only then
    # are the rows looked for
    if not math.isfinite(features.sum()) and not np.isfinite(features).all():
        rows = np.flatnonzero(~np.isfinite(features).all(axis=1))
        which = [names[r] for r in rows[:5]] if names is not None else \
            rows[:5].tolist()
        raise SdtrError(
            f'{len(rows)} of {len(features)} feature rows hold NaN or inf '
            f'(rows {rows[:5].tolist()}: {which}); the model produced '
            'non-finite features for them, which a search would never '
            'return. Check these inputs (and the model) before adding them.')
    return features


def default_params(index_type: str, num: int, dim: int) -> dict:
    """Index parameters for ``num`` vectors of width ``dim``.

    * ivfpq: ``nlist`` = the power of two nearest ``sqrt(num)`` (at most
      ``num / 39`` so that k-means has 39 points per cell), ``m = dim / 8``
      sub-quantisers of ``nbits = 8`` bits (64 bytes per 512-d vector;
      fewer bits when fewer than 9984 vectors train it), ``nprobe = 32``,
      ``rerank = 20`` (recall@10 at 100k: 0.92 on anisotropic CLIP-like
      vectors, 0.89 on clustered ones, where ``nprobe = 16, rerank = 10``
      gave 0.79 / 0.84; ``docs/inference.md``);
    * hnsw: ``M = 32`` links, ``ef_construction = 80``, ``ef_search = 64``.
    """
    if index_type == 'flat':
        return {}
    if index_type == 'hnsw':
        return dict(M=32, ef_construction=80, ef_search=64)
    if index_type == 'ivfpq':
        nlist = 2 ** max(0, round(math.log2(max(1.0, math.sqrt(num)))))
        nlist = int(max(1, min(nlist, num // 39)))
        m = next(c for c in (dim // 8, dim // 4, dim // 2, dim // 1, 1)
                 if c >= 1 and dim % c == 0)
        nbits = int(min(8, max(1, math.floor(math.log2(max(2, num // 39))))))
        return dict(nlist=nlist, m=m, nbits=nbits, nprobe=32, rerank=20)
    raise ValueError(f'index_type must be one of {INDEX_TYPES}, got '
                     f'{index_type!r}')


class SearchIndex:
    """An index folder (see the module docstring).

    Create one with :meth:`create` (or :func:`build_index`), open one with
    :meth:`open`.  Items (``index.items[i]``) are the names of the rows.
    ``threads`` is the number of threads a search uses
    (:func:`~sdtr.search.threads.search_threads`); it may be changed.
    """

    def __init__(self, path: str, meta: dict, mmap: bool = True,
                 use_gpu: bool = False, threads: Optional[int] = None):
        self.path, self.mmap, self.use_gpu = str(path), mmap, use_gpu
        self.threads = search_threads(threads)
        self._writer = None  # FAISS index being added to (not committed)
        self._load(meta)

    def _load(self, meta: dict) -> None:
        """Take ``meta`` as the committed state (drops cached maps)."""
        self.meta = meta
        self._vectors = self._faiss_index = None
        digests = meta.get('digests') or {}
        self.digests = RowDigests(
            self.path, (osp.basename(self.vectors_path), ItemStore.TEXT),
            digests.get('chunks'), len(self), self.rows_per_chunk,
            self._read_rows, lambda: self.vectors)
        self.items = ItemStore(self.path, meta['count'],
                               meta.get('items_bytes', 0),
                               verify=self.digests.verify)

    # ------------------------------------------------------------- props
    kind = property(lambda self: self.meta['kind'])
    dim = property(lambda self: int(self.meta['dim']))
    index_type = property(lambda self: self.meta['index_type'])
    params = property(lambda self: dict(self.meta.get('params') or {}))
    fingerprint = property(lambda self: self.meta.get('fingerprint'))
    info = property(lambda self: dict(self.meta.get('info') or {}))
    _np_dtype = property(lambda self: _DTYPES[self.meta['dtype']][0])

    def __len__(self):
        return int(self.meta['count'])

    def __repr__(self):
        return (f'SearchIndex({self.path!r}, {self.index_type}, {self.kind},'
                f' {len(self)} x {self.dim})')

    @property
    def rows_per_chunk(self) -> int:
        """Rows per digest chunk (:mod:`sdtr.search.integrity`)."""
        return int((self.meta.get('digests') or {}).get('rows_per_chunk') or
                   rows_per_chunk(self.dim * np.dtype(self._np_dtype).itemsize))

    @property
    def vectors_path(self):
        ext = _DTYPES[self.meta['dtype']][1]
        return osp.join(self.path, f'vectors.{ext}')

    def _map_vectors(self, count: int) -> np.ndarray:
        if not count:
            return np.zeros((0, self.dim), self._np_dtype)
        return np.memmap(self.vectors_path, dtype=self._np_dtype, mode='r',
                         shape=(count, self.dim))

    @property
    def vectors(self) -> np.ndarray:
        """The ``count x dim`` features (a read-only memory map, not
        checked: :meth:`verify` or a search checks them)."""
        if self._vectors is None:
            self._vectors = self._map_vectors(len(self))
        return self._vectors

    def _read_rows(self, start: int, stop: int, vectors=None, items=None):
        vectors = self.vectors if vectors is None else vectors
        items = self.items if items is None else items
        return vectors[start:stop], items.raw(start, stop)

    # ---------------------------------------------------------- creating
    @classmethod
    def create(cls, path: str, dim: int, kind: str = 'image',
               index_type: str = 'flat', dtype: str = 'float32',
               fingerprint: Optional[dict] = None,
               info: Optional[dict] = None, overwrite: bool = False,
               rows_per_chunk: Optional[int] = None,
               **params) -> 'SearchIndex':
        """An empty index folder at ``path``.

        ``params`` override :func:`default_params` (computed for the final
        gallery size when :func:`build_index` calls this; an index created
        empty gets them at its first :meth:`train` / :meth:`add`).
        ``rows_per_chunk`` overrides the digest chunk size (256 KiB of
        vectors).
        """
        path = str(path)
        if index_type not in INDEX_TYPES:
            raise ValueError(f'index_type must be one of {INDEX_TYPES}, got '
                             f'{index_type!r}')
        if kind not in ('image', 'text'):
            raise ValueError(f"kind must be 'image' or 'text', got {kind!r}")
        if dtype not in _DTYPES:
            raise ValueError(f'dtype must be one of {list(_DTYPES)}, got '
                             f'{dtype!r}')
        if index_type != 'flat':
            import_faiss()
            if dtype != 'float32':
                raise ValueError(f'{index_type} indexes store float32 '
                                 'vectors; use dtype="float32"')
        if osp.exists(path) and not overwrite and (
                not osp.isdir(path) or os.listdir(path)):
            raise SdtrError(
                f'{path!r} exists and is not empty; pass overwrite=True (or '
                '--overwrite) to replace it, or add() to an index with open()')
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name == META_FILE or name.startswith(
                    ('vectors.', 'items.', 'index-')):
                os.remove(osp.join(path, name))
        if index_type != 'flat':
            params = dict(default_params(index_type, 0, dim), **params)
        meta = dict(format=FORMAT_TAG, kind=kind, dim=int(dim), count=0,
                    items_bytes=0, dtype=dtype, index_type=index_type,
                    params=dict(params), faiss_file=None, trained=False,
                    fingerprint=fingerprint, info=dict(info or {}),
                    digests=dict(rows_per_chunk=rows_per_chunk, chunks='',
                                 faiss_sha256=None),
                    created=time.strftime('%Y-%m-%d %H:%M:%S'))
        index = cls(path, meta, mmap=False)
        meta['digests']['rows_per_chunk'] = index.rows_per_chunk
        for name in (ItemStore.TEXT, ItemStore.OFFSETS, index.vectors_path):
            open(osp.join(path, name), 'wb').close()
        _atomic_json(osp.join(path, META_FILE), meta)
        return index

    @classmethod
    def open(cls, path: str, mmap: bool = True, use_gpu: bool = False,
             expect_fingerprint: Optional[dict] = None,
             kind: Optional[str] = None,
             threads: Optional[int] = None) -> 'SearchIndex':
        """Open an index folder (memory-mapped unless ``mmap=False``).

        Reads ``meta.json`` and checks the file sizes; the rows are checked
        against their digests as searches touch them (:meth:`verify`
        checks all at once).

        Args:
            expect_fingerprint (dict, optional): the fingerprint of the model
                that will query the index (:attr:`RetrievalInferencer.
                fingerprint`); a different one raises :class:`SdtrError`
                naming both.
            kind (str, optional): required gallery kind.
            threads (int, optional): threads per search (default: the free
                cores, see :mod:`sdtr.search.threads`).
        """
        path = str(path)
        meta_path = osp.join(path, META_FILE)
        if not osp.isfile(meta_path):
            raise SdtrError(
                f'{path!r} is not an sdtr index (no {META_FILE}); build one '
                'with tools/build_gallery.py')
        try:
            with open(meta_path, encoding='utf-8') as f:
                meta = json.load(f)
        except ValueError as err:
            raise SdtrError(f'{meta_path}: broken index metadata ({err})') \
                from err
        if meta.get('format') in UNCHECKED_FORMATS:
            warnings.warn(f'index {path!r} was written by an older sdtr '
                          'without digests: its rows are not checked. '
                          'Rebuild it (tools/build_gallery.py --overwrite) '
                          'to have them checked.')
            meta['digests'] = None
        elif meta.get('format') != FORMAT_TAG:
            raise SdtrError(f'{path!r} is not an sdtr index (format '
                            f'{meta.get("format")!r}, expected '
                            f'{FORMAT_TAG!r})')
        index = cls(path, meta, mmap=mmap, use_gpu=use_gpu, threads=threads)
        if kind is not None and index.kind != kind:
            raise SdtrError(f'{path!r} is an index of {index.kind} items; '
                            f'a {kind} gallery is needed here')
        if expect_fingerprint is not None:
            msg = fingerprint_mismatch(index.fingerprint, expect_fingerprint)
            if msg:
                raise SdtrError(f'index {path!r} was {msg}. Rebuild it with '
                                'this model (tools/build_gallery.py).')
        index._check_files()
        return index

    def _check_files(self):
        need = {self.vectors_path: len(self) * self.dim *
                np.dtype(self._np_dtype).itemsize,
                self.items.text_path: self.meta.get('items_bytes', 0),
                self.items.offsets_path: 8 * len(self)}
        for path, size in need.items():
            have = osp.getsize(path) if osp.isfile(path) else -1
            if have < size:
                raise SdtrError(
                    f'index {self.path!r} is damaged: {osp.basename(path)} '
                    f'has {have} bytes, {size} expected for {len(self)} '
                    'items')
        if self.meta.get('faiss_file') and not osp.isfile(
                osp.join(self.path, self.meta['faiss_file'])):
            raise SdtrError(f'index {self.path!r} is damaged: '
                            f'{self.meta["faiss_file"]} is missing')

    def verify(self) -> 'SearchIndex':
        """Check every row chunk and the FAISS file against their digests
        (one read of every file, which also leaves them in the page cache:
        the first searches then run at warm speed); raises
        :class:`SdtrError` naming the damaged file."""
        self.digests.verify_all()
        name = self.meta.get('faiss_file')
        want = (self.meta.get('digests') or {}).get('faiss_sha256')
        if name and want and sha256_file(osp.join(self.path, name)) != want:
            raise SdtrError(
                f'index {self.path!r} is damaged: {name} does not match the '
                'digest recorded when it was written. Rebuild the index '
                'with tools/build_gallery.py (--overwrite).')
        return self

    # ----------------------------------------------------------- writing
    def _faiss_for_search(self):
        if self._faiss_index is None:
            if not self.meta.get('faiss_file'):
                raise RuntimeError(f'index {self.path!r} is empty')
            self._faiss_index = read_for_search(
                osp.join(self.path, self.meta['faiss_file']),
                self.index_type, self.mmap, self.use_gpu)
        return self._faiss_index

    def _commit(self, faiss_index=None, **changes):
        """Write the FAISS index under a new name, the digests of the rows
        added since the last commit, then ``meta.json``."""
        meta = dict(self.meta, **changes)
        digests = dict(meta.get('digests') or {})
        old = self.meta.get('faiss_file')
        if faiss_index is not None:
            name = f'index-{meta["count"]}-{os.getpid()}.faiss'
            tmp = osp.join(self.path, name + '.tmp')
            import_faiss().write_index(faiss_index, tmp)
            digests['faiss_sha256'] = sha256_file(tmp)
            os.replace(tmp, osp.join(self.path, name))
            meta['faiss_file'] = name
        if meta.get('digests') is not None:
            items = ItemStore(self.path, meta['count'], meta['items_bytes'])
            vectors = self._map_vectors(meta['count'])
            digests['chunks'] = chunk_digests(
                lambda a, b: self._read_rows(a, b, vectors, items),
                meta['count'], self.rows_per_chunk, digests['chunks'],
                len(self))
            items.close()
            meta['digests'] = digests
        _atomic_json(osp.join(self.path, META_FILE), meta)
        if old and old != meta.get('faiss_file') and osp.isfile(
                osp.join(self.path, old)):
            os.remove(osp.join(self.path, old))
        self.items.close()
        self._load(meta)

    @property
    def is_trained(self) -> bool:
        return self.index_type != 'ivfpq' or bool(self.meta.get('trained'))

    def train(self, sample) -> None:
        """Train an IVF-PQ index (k-means of the cells and the product
        quantiser) on ``sample`` ``[n, dim]``: a random subset of the
        gallery, at least ``39 * nlist`` and ``39 * 2**nbits`` vectors.
        A no-op for flat and HNSW indexes."""
        if self.index_type != 'ivfpq':
            return
        if len(self):
            raise RuntimeError(f'index {self.path!r} already holds vectors; '
                               'an IVF-PQ index is trained once, before the '
                               'first add()')
        sample = as_features(sample, self.dim)
        p = self.params
        need = max(p['nlist'], 2 ** p['nbits'])
        if sample.shape[0] < need:
            raise ValueError(
                f'IVF-PQ with nlist={p["nlist"]}, nbits={p["nbits"]} needs '
                f'at least {need} training vectors, got {sample.shape[0]}; '
                'use a flat index for a gallery this small')
        index = new_index('ivfpq', self.dim, p)
        index.train(sample)
        self._commit(index, trained=True)

    def add(self, features, items: Sequence[str], flush: bool = True
            ) -> None:
        """Append rows (features ``[n, dim]`` L2-normalised, and their item
        names) without rebuilding what is there.

        With ``flush=False`` the rows are written but not committed: call
        :meth:`flush` after the last of several adds (the FAISS index file
        and the digests are then written once, not once per add).  Rows
        added but not flushed are dropped by the next open/add, as after a
        crash.  Rows holding NaN or inf are refused (naming their items).
        """
        items = [str(i) for i in items]
        feats = as_features(features, self.dim, items)
        if feats.shape[0] != len(items):
            raise ValueError(f'{feats.shape[0]} feature rows but '
                             f'{len(items)} item names')
        if not items:
            return
        if not self.is_trained:
            raise RuntimeError(
                f'IVF-PQ index {self.path!r} is not trained: call train() '
                'with a sample of the gallery first (build_index does)')
        if self._writer is None:
            self._writer = False
            if self.index_type != 'flat':
                name = self.meta.get('faiss_file')
                self._writer = import_faiss().read_index(
                    osp.join(self.path, name)) if name else \
                    new_index(self.index_type, self.dim, self.params)
        if self._writer is not False:
            self._writer.add(feats)
        row_bytes = self.dim * np.dtype(self._np_dtype).itemsize
        with open(self.vectors_path, 'ab') as f:
            f.truncate(self.items.count * row_bytes)
            f.write(feats.astype(self._np_dtype).tobytes())
        self.items.append(items)
        if flush:
            self.flush()

    def flush(self) -> None:
        """Commit the rows of :meth:`add` calls made with ``flush=False``."""
        if self._writer is None:
            return
        self._commit(None if self._writer is False else self._writer,
                     count=self.items.count,
                     items_bytes=self.items.nbytes)
        self._writer = None

    # --------------------------------------------------------- searching
    def search(self, query, topk: int = 10, nprobe: Optional[int] = None,
               ef_search: Optional[int] = None,
               rerank: Optional[int] = None,
               device: Optional[str] = None,
               chunk_size: Optional[int] = None
               ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Top-k rows of every query by inner product.

        Args:
            query: ``[q, dim]`` or ``[dim]`` L2-normalised features.
            topk (int): results per query, clipped to the gallery size.
            nprobe, ef_search, rerank: override the index's search
                parameters (IVF-PQ cells scanned, HNSW beam width, IVF-PQ
                exact re-scoring factor; ``rerank=1`` turns it off).
            device (str, optional): a CUDA device searches a flat index
                with :func:`topk_search` on that device.
            chunk_size (int, optional): gallery rows per block of
                :func:`topk_search` (flat index without FAISS).

        Returns:
            tuple[Tensor, Tensor]: float32 scores and int64 rows, ``[q, k]``
            (``[k]`` for a 1-D query), best first, ties by the lower row.
            An approximate index may return fewer than ``k`` valid rows for
            a query: missing ones have row ``-1`` and score ``-inf``.
        """
        squeeze = getattr(query, 'ndim', 2) == 1
        q = as_features(query[None] if squeeze else query, self.dim)
        if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
            raise ValueError(f'topk must be a positive int, got {topk!r}')
        if not self.meta['count']:
            raise ValueError(f'index {self.path!r} is empty')
        k = min(topk, self.meta['count'])
        if self.index_type == 'flat':
            self.digests.verify_all()  # a flat search reads every row
            scores, ids = self._search_flat(q, k, device, chunk_size)
        else:
            scores, ids = self._search_faiss(q, k, nprobe, ef_search, rerank)
        scores, ids = torch.from_numpy(scores), torch.from_numpy(ids)
        return (scores[0], ids[0]) if squeeze else (scores, ids)

    def _search_flat(self, q, k, device, chunk_size=None):
        vectors = self.vectors
        cuda = device is not None and str(device).startswith('cuda')
        if vectors.dtype == np.float32 and faiss_available() and not cuda:
            faiss = import_faiss()
            with faiss_threads(faiss, self.threads):
                scores, ids = faiss.knn(q, vectors, k,
                                        metric=faiss.METRIC_INNER_PRODUCT)
            # FAISS keeps the lowest rows among ties at the cut (as
            # topk_search does) but lists tied rows in any order
            return sort_ties(scores, ids)
        with warnings.catch_warnings():  # read-only memory map
            warnings.simplefilter('ignore', UserWarning)
            gallery = torch.from_numpy(np.asarray(vectors))
        query = torch.from_numpy(q)
        if cuda:
            gallery, query = gallery.to(device), query.to(device)
        with torch_threads(self.threads):
            s, i = topk_search(query, gallery, k, chunk_size=chunk_size)
        return s.cpu().numpy(), i.cpu().numpy()

    def _search_faiss(self, q, k, nprobe, ef_search, rerank):
        index, p, count = self._faiss_for_search(), self.meta['params'], \
            self.meta['count']
        if self.index_type == 'ivfpq':
            rerank = p.get('rerank', 1) if rerank is None else rerank
            kk, exact = min(count, k * max(1, rerank)), rerank > 1
            params = search_params('ivfpq', nprobe or p.get('nprobe', 32))
        else:  # hnsw: its k results are re-scored from the checked vectors
            kk, exact = k, True
            params = search_params('hnsw', max(ef_search or p['ef_search'],
                                               k))
        with faiss_threads(import_faiss(), self.threads):
            scores, ids = index.search(q, kk, params=params)
            if ids.max() >= count:
                raise SdtrError(
                    f'index {self.path!r} is damaged: '
                    f'{self.meta["faiss_file"]} returned row {ids.max()} of '
                    f'{count}. Rebuild the index with '
                    'tools/build_gallery.py (--overwrite).')
            self.digests.verify(ids)
            if exact:  # exact scores of the candidates, as IndexRefineFlat
                scores = rescore(q, ids, self.vectors)
            else:  # FAISS' scores; -inf where it found nothing
                scores = np.where(ids < 0, np.float32(-np.inf),
                                  inner_products(index, scores))
        return select_topk(scores, ids, k)

    def close(self):
        self.items.close()
        self._vectors = self._faiss_index = None


def build_index(path: str, chunks, dim: int, kind: str = 'image',
                index_type: str = 'flat', num: Optional[int] = None,
                train_sample=None, fingerprint: Optional[dict] = None,
                info: Optional[dict] = None, dtype: str = 'float32',
                overwrite: bool = False, **params) -> SearchIndex:
    """Write an index from ``chunks``: an iterable of ``(features, items)``
    pairs added in order (e.g. the shards of ``tools/build_gallery.py``),
    so the whole gallery never needs to be in memory.

    Args:
        num (int, optional): total number of rows, for the default
            parameters (:func:`default_params`).
        train_sample: ``[n, dim]`` vectors that train an IVF-PQ index
            (required for ``'ivfpq'``).
    """
    if index_type != 'flat':
        params = dict(default_params(index_type, int(num or 0), dim),
                      **params)
    index = SearchIndex.create(path, dim, kind, index_type, dtype=dtype,
                               fingerprint=fingerprint, info=info,
                               overwrite=overwrite, **params)
    if index_type == 'ivfpq':
        if train_sample is None:
            raise ValueError('an ivfpq index needs train_sample')
        index.train(train_sample)
    for feats, names in chunks:
        index.add(feats, names, flush=False)
    index.flush()
    return index


__all__ = ['SearchIndex', 'build_index', 'default_params', 'as_features',
           'faiss_available', 'is_index_dir', 'INDEX_TYPES']
