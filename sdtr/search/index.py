"""A gallery index on disk: exact or approximate top-k search with FAISS.

An index is a folder::

    INDEX/
      meta.json          format, kind ('image'|'text'), dim, count, index
                         type and parameters, model fingerprint, provenance
      vectors.f32        the L2-normalised features, raw row-major float32
                         (vectors.f16 for float16), count x dim
      items.jsonl        one JSON string per line: the item names (image
                         paths or captions), in row order
      items.offsets      int64 byte offset of every line of items.jsonl
      index-<count>.faiss  the FAISS index (ivfpq / hnsw only)

Every file is opened memory-mapped: features, item names and (for IVF-PQ)
the inverted lists stay on disk and are paged in by the operating system
as searches touch them, so a gallery larger than memory can be searched and
opening one costs almost nothing.  ``meta.json`` is written last and
atomically; ``count`` in it is the truth, so an :meth:`SearchIndex.add`
that is interrupted leaves the index as it was.

Index types (``index_type``):

* ``'flat'`` (default): exact.  Scores every gallery row (inner product of
  L2-normalised features = cosine, as every sdtr retriever ranks).  Uses
  ``faiss.knn`` on the memory-mapped float32 vectors when ``faiss`` is
  installed, else :func:`sdtr.search.topk.topk_search`; both give the same
  ranking, ties by the lower gallery row.
* ``'ivfpq'``: FAISS ``IndexIVFPQ`` (Jegou et al., "Product quantization for
  nearest neighbor search", TPAMI 2011): ``nlist`` k-means cells, each
  vector stored as ``m`` bytes-sized codes; a query scans ``nprobe`` cells.
  Candidates are re-scored exactly from the stored vectors (``rerank``
  times ``k`` of them), which recovers most of the recall lost to
  quantisation.  Needs a training sample (:meth:`SearchIndex.train`).
* ``'hnsw'``: FAISS ``IndexHNSWFlat`` (Malkov & Yashunin, "Efficient and
  robust approximate nearest neighbor search using Hierarchical Navigable
  Small World graphs", TPAMI 2018): a graph with ``M`` links per node,
  searched with a beam of ``ef_search``; no training, but the graph lives
  in memory.

``tools/analysis_tools/benchmark_index.py`` measures build time, size,
latency and recall@10 of each type; the README recommends one per gallery
size from those numbers.  GPU FAISS (``faiss-gpu``), when installed, runs
IVF-PQ on every visible GPU (``use_gpu=True``); a flat index on a CUDA
device is searched with :func:`topk_search` on the GPU.
"""
import json
import math
import mmap
import os
import os.path as osp
import time
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch

from .fingerprint import fingerprint_mismatch
from .topk import topk_search

FORMAT_TAG = 'sdtr-index-v1'
INDEX_TYPES = ('flat', 'ivfpq', 'hnsw')
META_FILE = 'meta.json'
_DTYPES = {'float32': (np.float32, 'f32'), 'float16': (np.float16, 'f16')}


def faiss_available() -> bool:
    """Whether the optional ``faiss`` package (``pip install faiss-cpu``)
    can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def _faiss():
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            'approximate indexes (ivfpq, hnsw) need FAISS: pip install '
            '-c requirements/constraints.txt -e ".[search]" (or pip install '
            'faiss-cpu; faiss-gpu on CUDA machines)') from err
    return faiss


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


def _as_matrix(features, dim: Optional[int] = None) -> np.ndarray:
    if isinstance(features, torch.Tensor):
        features = features.detach().float().cpu().numpy()
    features = np.ascontiguousarray(features, dtype=np.float32)
    if features.ndim != 2:
        raise ValueError(f'features must be [N, D], got shape '
                         f'{features.shape}')
    if dim is not None and features.shape[1] != dim:
        raise ValueError(f'features have dim {features.shape[1]}, the index '
                         f'has dim {dim}')
    if not np.isfinite(features).all():
        raise ValueError('features contain NaN or inf')
    return features


def sort_ties(scores: np.ndarray, ids: np.ndarray
              ) -> Tuple[np.ndarray, np.ndarray]:
    """Order every row by decreasing score, then increasing id; ids < 0
    (FAISS' "no result") go last."""
    scores = np.where(ids < 0, -np.inf, scores)
    order = np.lexsort((ids, -scores), axis=-1)
    return (np.take_along_axis(scores, order, -1),
            np.take_along_axis(ids, order, -1))


class ItemStore:
    """Append-only list of strings on disk, read memory-mapped.

    ``items.jsonl`` holds one JSON string per line and ``items.offsets`` the
    int64 byte offset of each line, so ``store[i]`` reads one line without
    loading the others.
    """

    def __init__(self, folder: str, count: int, nbytes: int):
        self.folder, self.count, self.nbytes = folder, int(count), int(nbytes)
        self._text = self._offsets = None

    @property
    def text_path(self):
        return osp.join(self.folder, 'items.jsonl')

    @property
    def offsets_path(self):
        return osp.join(self.folder, 'items.offsets')

    def _open(self):
        if self._offsets is None and self.count:
            self._offsets = np.memmap(self.offsets_path, dtype=np.int64,
                                      mode='r', shape=(self.count,))
            with open(self.text_path, 'rb') as f:
                self._text = mmap.mmap(f.fileno(), 0,
                                       access=mmap.ACCESS_READ)

    def __len__(self):
        return self.count

    def __getitem__(self, i: int) -> str:
        i = int(i)
        if not -self.count <= i < self.count:
            raise IndexError(f'item {i} out of range (0..{self.count - 1})')
        i %= self.count
        self._open()
        start = int(self._offsets[i])
        end = int(self._offsets[i + 1]) - 1 if i + 1 < self.count \
            else self.nbytes - 1
        return json.loads(self._text[start:end].decode('utf-8'))

    def __iter__(self):
        for i in range(self.count):
            yield self[i]

    def tolist(self) -> List[str]:
        return list(self)

    def append(self, names: Sequence[str]) -> None:
        """Append ``names`` after the current entries (bytes past them,
        left by an interrupted append, are dropped first); the caller
        commits the new ``count`` / ``nbytes`` in ``meta.json``."""
        self.close()
        lines = [json.dumps(str(n), ensure_ascii=False).encode('utf-8') +
                 b'\n' for n in names]
        offsets = np.cumsum([0] + [len(ln) for ln in lines[:-1]],
                            dtype=np.int64) + self.nbytes
        for path, size in ((self.text_path, self.nbytes),
                           (self.offsets_path, 8 * self.count)):
            with open(path, 'ab') as f:
                f.truncate(size)
        with open(self.text_path, 'ab') as f:
            f.write(b''.join(lines))
        with open(self.offsets_path, 'ab') as f:
            f.write(offsets.tobytes())
        self.count += len(lines)
        self.nbytes += sum(map(len, lines))

    def close(self):
        if self._text is not None:
            self._text.close()
        self._text = self._offsets = None


def default_params(index_type: str, num: int, dim: int) -> dict:
    """Index parameters for ``num`` vectors of width ``dim``.

    * ivfpq: ``nlist`` = the power of two nearest ``sqrt(num)`` (at most
      ``num / 39`` so that k-means has 39 points per cell), ``m = dim / 8``
      sub-quantisers of ``nbits = 8`` bits (64 bytes per 512-d vector;
      fewer bits when fewer than 9984 vectors train it), ``nprobe = 16``,
      ``rerank = 10``;
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
        return dict(nlist=nlist, m=m, nbits=nbits, nprobe=16, rerank=10)
    raise ValueError(f'index_type must be one of {INDEX_TYPES}, got '
                     f'{index_type!r}')


class SearchIndex:
    """An index folder (see the module docstring).

    Create one with :meth:`create` (or :func:`build_index`), open one with
    :meth:`open`.  Items (``index.items[i]``) are the names of the rows.
    """

    def __init__(self, path: str, meta: dict, mmap: bool = True,
                 use_gpu: bool = False):
        self.path, self.meta = str(path), meta
        self.mmap, self.use_gpu = mmap, use_gpu
        self.items = ItemStore(self.path, meta['count'],
                               meta.get('items_bytes', 0))
        self._vectors = None
        self._faiss_index = None
        self._writer = None  # FAISS index being added to (not committed)

    # ------------------------------------------------------------- props
    kind = property(lambda self: self.meta['kind'])
    dim = property(lambda self: int(self.meta['dim']))
    index_type = property(lambda self: self.meta['index_type'])
    params = property(lambda self: dict(self.meta.get('params') or {}))
    fingerprint = property(lambda self: self.meta.get('fingerprint'))
    info = property(lambda self: dict(self.meta.get('info') or {}))

    def __len__(self):
        return int(self.meta['count'])

    def __repr__(self):
        return (f'SearchIndex({self.path!r}, {self.index_type}, {self.kind},'
                f' {len(self)} x {self.dim})')

    @property
    def vectors_path(self):
        ext = _DTYPES[self.meta['dtype']][1]
        return osp.join(self.path, f'vectors.{ext}')

    @property
    def vectors(self) -> np.ndarray:
        """The ``count x dim`` features (a read-only memory map)."""
        if self._vectors is None:
            if not len(self):
                return np.zeros((0, self.dim), _DTYPES[self.meta['dtype']][0])
            self._vectors = np.memmap(
                self.vectors_path, dtype=_DTYPES[self.meta['dtype']][0],
                mode='r', shape=(len(self), self.dim))
        return self._vectors

    # ---------------------------------------------------------- creating
    @classmethod
    def create(cls, path: str, dim: int, kind: str = 'image',
               index_type: str = 'flat', dtype: str = 'float32',
               fingerprint: Optional[dict] = None,
               info: Optional[dict] = None, overwrite: bool = False,
               **params) -> 'SearchIndex':
        """An empty index folder at ``path``.

        ``params`` override :func:`default_params` (computed for the final
        gallery size when :func:`build_index` calls this; an index created
        empty gets them at its first :meth:`train` / :meth:`add`).
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
            _faiss()
            if dtype != 'float32':
                raise ValueError(f'{index_type} indexes store float32 '
                                 'vectors; use dtype="float32"')
        if osp.exists(path) and not overwrite and (
                not osp.isdir(path) or os.listdir(path)):
            raise FileExistsError(
                f'{path!r} exists and is not empty; pass overwrite=True (or '
                '--overwrite) to replace it, or add() to an index with open()')
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name == META_FILE or name.startswith(
                    ('vectors.', 'items.', 'index-')):
                os.remove(osp.join(path, name))
        meta = dict(format=FORMAT_TAG, kind=kind, dim=int(dim), count=0,
                    items_bytes=0, dtype=dtype, index_type=index_type,
                    params=dict(params), faiss_file=None, trained=False,
                    fingerprint=fingerprint, info=dict(info or {}),
                    created=time.strftime('%Y-%m-%d %H:%M:%S'))
        if index_type != 'flat':
            meta['params'] = dict(default_params(index_type, 0, dim),
                                  **params)
        _atomic_json(osp.join(path, META_FILE), meta)
        for name in ('items.jsonl', 'items.offsets'):
            open(osp.join(path, name), 'wb').close()
        index = cls(path, meta, mmap=False)
        open(index.vectors_path, 'wb').close()
        return index

    @classmethod
    def open(cls, path: str, mmap: bool = True, use_gpu: bool = False,
             expect_fingerprint: Optional[dict] = None,
             kind: Optional[str] = None) -> 'SearchIndex':
        """Open an index folder (memory-mapped unless ``mmap=False``).

        Args:
            expect_fingerprint (dict, optional): the fingerprint of the model
                that will query the index (:meth:`RetrievalInferencer.
                fingerprint`); a different one raises ``ValueError`` naming
                both.
            kind (str, optional): required gallery kind.
        """
        path = str(path)
        meta_path = osp.join(path, META_FILE)
        if not osp.isfile(meta_path):
            raise FileNotFoundError(
                f'{path!r} is not an sdtr index (no {META_FILE}); build one '
                'with tools/build_gallery.py')
        try:
            with open(meta_path, encoding='utf-8') as f:
                meta = json.load(f)
        except ValueError as err:
            raise ValueError(f'{meta_path}: broken index metadata ({err})') \
                from err
        if meta.get('format') != FORMAT_TAG:
            raise ValueError(f'{path!r} is not an sdtr index (format '
                             f'{meta.get("format")!r}, expected '
                             f'{FORMAT_TAG!r})')
        index = cls(path, meta, mmap=mmap, use_gpu=use_gpu)
        if kind is not None and index.kind != kind:
            raise ValueError(f'{path!r} is an index of {index.kind} items; '
                             f'a {kind} gallery is needed here')
        if expect_fingerprint is not None:
            msg = fingerprint_mismatch(index.fingerprint, expect_fingerprint)
            if msg:
                raise ValueError(f'index {path!r} was {msg}. Rebuild it with '
                                 'this model (tools/build_gallery.py).')
        index._check_files()
        return index

    def _check_files(self):
        need = {self.vectors_path: len(self) * self.dim *
                np.dtype(_DTYPES[self.meta['dtype']][0]).itemsize,
                self.items.text_path: self.meta.get('items_bytes', 0),
                self.items.offsets_path: 8 * len(self)}
        for path, size in need.items():
            have = osp.getsize(path) if osp.isfile(path) else -1
            if have < size:
                raise ValueError(
                    f'index {self.path!r} is damaged: {osp.basename(path)} '
                    f'has {have} bytes, {size} expected for {len(self)} '
                    'items')
        if self.meta.get('faiss_file') and not osp.isfile(
                osp.join(self.path, self.meta['faiss_file'])):
            raise ValueError(f'index {self.path!r} is damaged: '
                             f'{self.meta["faiss_file"]} is missing')

    # ------------------------------------------------------------- faiss
    def _new_faiss_index(self):
        faiss = _faiss()
        p = self.params
        if self.index_type == 'ivfpq':
            desc = f'IVF{p["nlist"]},PQ{p["m"]}x{p["nbits"]}'
        else:
            desc = f'HNSW{p["M"]},Flat'
        index = faiss.index_factory(self.dim, desc,
                                    faiss.METRIC_INNER_PRODUCT)
        if self.index_type == 'ivfpq':
            # the factory turns on polysemous training (a slow annealing
            # of the code order for Hamming pre-filtering), unused here
            index.do_polysemous_training = False
        if self.index_type == 'hnsw':
            index.hnsw.efConstruction = int(p['ef_construction'])
        return index

    def _load_faiss(self, writable: bool = False):
        """The FAISS index: memory-mapped for searching, fully read (or
        new) when it is to be modified."""
        if self.index_type == 'flat':
            return None
        if writable:
            if self.meta.get('faiss_file'):
                return _faiss().read_index(
                    osp.join(self.path, self.meta['faiss_file']))
            return self._new_faiss_index()
        if self._faiss_index is None:
            faiss = _faiss()
            if not self.meta.get('faiss_file'):
                raise RuntimeError(f'index {self.path!r} is empty')
            flags = 0
            if self.mmap:
                flags = faiss.IO_FLAG_MMAP if self.index_type == 'ivfpq' \
                    else faiss.IO_FLAG_MMAP_IFC
            index = faiss.read_index(
                osp.join(self.path, self.meta['faiss_file']), flags)
            if self.use_gpu and self.index_type == 'ivfpq' and hasattr(
                    faiss, 'index_cpu_to_all_gpus') and \
                    faiss.get_num_gpus() > 0:
                index = faiss.index_cpu_to_all_gpus(index)
            self._faiss_index = index
        return self._faiss_index

    def _commit(self, faiss_index=None, **changes):
        """Write the FAISS index under a new name, then ``meta.json``."""
        meta = dict(self.meta, **changes)
        old = self.meta.get('faiss_file')
        if faiss_index is not None:
            name = f'index-{meta["count"]}-{os.getpid()}.faiss'
            tmp = osp.join(self.path, name + '.tmp')
            _faiss().write_index(faiss_index, tmp)
            os.replace(tmp, osp.join(self.path, name))
            meta['faiss_file'] = name
        _atomic_json(osp.join(self.path, META_FILE), meta)
        self.meta = meta
        if old and old != meta.get('faiss_file') and osp.isfile(
                osp.join(self.path, old)):
            os.remove(osp.join(self.path, old))
        self.items.close()
        self.items = ItemStore(self.path, meta['count'],
                               meta['items_bytes'])
        self._vectors = self._faiss_index = None

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
        sample = _as_matrix(sample, self.dim)
        p = self.params
        need = max(p['nlist'], 2 ** p['nbits'])
        if sample.shape[0] < need:
            raise ValueError(
                f'IVF-PQ with nlist={p["nlist"]}, nbits={p["nbits"]} needs '
                f'at least {need} training vectors, got {sample.shape[0]}; '
                'use a flat index for a gallery this small')
        index = self._new_faiss_index()
        index.train(sample)
        self._commit(index, trained=True)

    # ------------------------------------------------------------ adding
    def add(self, features, items: Sequence[str], flush: bool = True
            ) -> None:
        """Append rows (features ``[n, dim]`` L2-normalised, and their item
        names) without rebuilding what is there.

        With ``flush=False`` the rows are written but not committed: call
        :meth:`flush` after the last of several adds (the FAISS index file
        is then written once, not once per add).  Rows added but not
        flushed are dropped by the next open/add, as after a crash.
        """
        items = [str(i) for i in items]
        feats = _as_matrix(features, self.dim)
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
            writer = self._load_faiss(writable=True)
            self._writer = False if writer is None else writer
        if self._writer is not False:
            self._writer.add(feats)
        np_dtype = _DTYPES[self.meta['dtype']][0]
        row_bytes = self.dim * np.dtype(np_dtype).itemsize
        with open(self.vectors_path, 'ab') as f:
            f.truncate(self.items.count * row_bytes)
            f.write(feats.astype(np_dtype).tobytes())
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
        squeeze = isinstance(query, (torch.Tensor, np.ndarray)) and \
            query.ndim == 1
        q = _as_matrix(query[None] if squeeze else query, self.dim)
        if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
            raise ValueError(f'topk must be a positive int, got {topk!r}')
        if not len(self):
            raise ValueError(f'index {self.path!r} is empty')
        k = min(topk, len(self))
        if self.index_type == 'flat':
            scores, ids = self._search_flat(q, k, device, chunk_size)
        else:
            scores, ids = self._search_faiss(q, k, nprobe, ef_search, rerank)
        scores = torch.from_numpy(np.ascontiguousarray(scores, np.float32))
        ids = torch.from_numpy(np.ascontiguousarray(ids, np.int64))
        return (scores[0], ids[0]) if squeeze else (scores, ids)

    def _search_flat(self, q, k, device, chunk_size=None):
        vectors = self.vectors
        if vectors.dtype != np.float32 or not faiss_available() or (
                device is not None and str(device).startswith('cuda')):
            with warnings.catch_warnings():  # read-only memory map
                warnings.simplefilter('ignore', UserWarning)
                gallery = torch.from_numpy(np.asarray(vectors))
        if device is not None and str(device).startswith('cuda'):
            gallery = gallery.to(device)
            s, i = topk_search(torch.from_numpy(q).to(device), gallery, k,
                               chunk_size=chunk_size)
            return s.cpu().numpy(), i.cpu().numpy()
        if vectors.dtype == np.float32 and faiss_available():
            import faiss
            scores, ids = faiss.knn(q, vectors, k,
                                    metric=faiss.METRIC_INNER_PRODUCT)
            # FAISS keeps the lowest rows among ties at the cut (as
            # topk_search does) but lists tied rows in any order
            return sort_ties(scores, ids)
        s, i = topk_search(torch.from_numpy(q), gallery, k,
                           chunk_size=chunk_size)
        return s.numpy(), i.numpy()

    def _search_faiss(self, q, k, nprobe, ef_search, rerank):
        faiss = _faiss()
        index = self._load_faiss()
        p = self.params
        if self.index_type == 'ivfpq':
            rerank = int(p.get('rerank', 1) if rerank is None else rerank)
            kk = min(len(self), k * max(1, rerank))
            params = faiss.SearchParametersIVF(
                nprobe=int(nprobe or p.get('nprobe', 16)))
        else:
            rerank, kk = 1, k
            params = faiss.SearchParametersHNSW(
                efSearch=max(int(ef_search or p.get('ef_search', 64)), k))
        scores, ids = index.search(q, kk, params=params)
        if rerank > 1:  # exact scores of the candidates from the vectors
            valid = ids >= 0
            rows = np.where(valid, ids, 0)
            exact = np.einsum('qd,qkd->qk', q,
                              np.asarray(self.vectors[rows.ravel()],
                                         np.float32).reshape(
                                             *rows.shape, self.dim))
            scores = np.where(valid, exact, -np.inf)
        scores, ids = sort_ties(scores, ids)
        return scores[:, :k], ids[:, :k]

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


__all__ = ['SearchIndex', 'ItemStore', 'build_index', 'default_params',
           'faiss_available', 'is_index_dir', 'sort_ties', 'INDEX_TYPES']
