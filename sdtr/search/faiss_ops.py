"""The FAISS side of an index folder (the optional ``faiss-cpu`` package).

What makes a search of a memory-mapped index as fast as plain FAISS on the
same index held in memory:

* **No prefetch threads.**  FAISS reads the inverted lists of an IVF index
  opened with ``IO_FLAG_MMAP`` as ``OnDiskInvertedLists``, whose
  ``prefetch_lists`` starts ``prefetch_nthread`` (32) threads on *every*
  search to touch the pages of the probed lists.  For one query that cost
  4x the search itself (0.91 ms instead of 0.23 ms);
  :func:`read_for_search` sets it to 0, and the search reads the pages it
  needs (the operating system reads ahead).
* **Re-ranking as** ``IndexRefineFlat`` **does it**: the exact inner
  products of the candidates are computed by FAISS' own
  ``fvec_inner_products_by_idx`` straight from the memory-mapped
  ``vectors.f32`` (no gathered copy of the candidate rows), and the best
  ``k`` are selected in ``O(candidates)`` (:func:`sdtr.search.topk.
  select_topk`).
"""
import functools

import numpy as np

FACTORY = {'ivfpq': 'IVF{nlist},PQ{m}x{nbits}', 'hnsw': 'HNSW{M},Flat'}


def import_faiss():
    """The ``faiss`` module, or an ImportError that says how to get it."""
    try:
        import faiss
    except ImportError as err:
        raise ImportError(
            'approximate indexes (ivfpq, hnsw) need FAISS: pip install '
            '-c requirements/constraints.txt -e ".[search]" (or pip install '
            'faiss-cpu; faiss-gpu on CUDA machines)') from err
    return faiss


def faiss_available() -> bool:
    """Whether the optional ``faiss`` package can be imported."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def new_index(index_type: str, dim: int, params: dict):
    """An empty FAISS index of ``index_type``.

    HNSW ranks by inner product.  IVF-PQ cells and codes use the L2
    metric: for unit vectors ``|q - x|^2 = 2 - 2 q.x``, so the ranking is
    the inner product's, and L2 k-means cells with L2 assignment find
    better candidates than inner-product assignment to centroids of unequal
    norms (recall@10 at nprobe 32, rerank 20 on 100k anisotropic CLIP-like
    vectors: 0.92 instead of 0.90; see ``docs/inference.md``).  The
    candidates are re-scored by inner product (:func:`rescore`), or their
    distances converted (:func:`inner_products`).
    """
    faiss = import_faiss()
    metric = faiss.METRIC_L2 if index_type == 'ivfpq' else \
        faiss.METRIC_INNER_PRODUCT
    index = faiss.index_factory(dim, FACTORY[index_type].format(**params),
                                metric)
    if index_type == 'ivfpq':
        # the factory turns on polysemous training (a slow annealing of the
        # code order for Hamming pre-filtering), unused here
        index.do_polysemous_training = False
    else:
        index.hnsw.efConstruction = int(params['ef_construction'])
    return index


def read_for_search(path: str, index_type: str, mmap: bool = True,
                    use_gpu: bool = False):
    """Read a FAISS index file for searching: memory-mapped (IVF lists,
    or the HNSW vectors) unless ``mmap=False``, without prefetch threads,
    and on every visible GPU when ``use_gpu`` and GPU FAISS is installed
    (IVF-PQ)."""
    faiss = import_faiss()
    flags = 0
    if mmap:
        flags = faiss.IO_FLAG_MMAP if index_type == 'ivfpq' \
            else faiss.IO_FLAG_MMAP_IFC
    index = faiss.read_index(path, flags)
    if index_type == 'ivfpq':
        lists = faiss.downcast_InvertedLists(
            faiss.extract_index_ivf(index).invlists)
        if hasattr(lists, 'prefetch_nthread'):
            lists.prefetch_nthread = 0
        if use_gpu and hasattr(faiss, 'index_cpu_to_all_gpus') and \
                faiss.get_num_gpus() > 0:
            index = faiss.index_cpu_to_all_gpus(index)
    return index


def inner_products(index, scores: np.ndarray) -> np.ndarray:
    """The inner products of unit vectors from what ``index.search``
    returned: squared L2 distances ``d`` of an L2 index give ``1 - d / 2``
    (indexes written before IVF-PQ used L2 return inner products)."""
    if index.metric_type == import_faiss().METRIC_L2:
        return 1 - scores / 2
    return scores


@functools.lru_cache(maxsize=64)
def search_params(index_type: str, value: int):
    """FAISS search parameters: ``nprobe`` (IVF-PQ) or ``efSearch``
    (HNSW) set to ``value`` (cached: one object per setting)."""
    faiss = import_faiss()
    if index_type == 'ivfpq':
        return faiss.SearchParametersIVF(nprobe=int(value))
    return faiss.SearchParametersHNSW(efSearch=int(value))


def rescore(query: np.ndarray, ids: np.ndarray,
            vectors: np.ndarray) -> np.ndarray:
    """Exact inner products ``[q, m]`` of every query with its candidate
    rows ``ids`` ``[q, m]`` of ``vectors`` (float32, C-contiguous, e.g. the
    memory map of ``vectors.f32``); ``-inf`` where an id is < 0."""
    faiss = import_faiss()
    ids = np.ascontiguousarray(ids, np.int64)
    out = np.empty(ids.shape, np.float32)
    faiss.fvec_inner_products_by_idx(
        faiss.swig_ptr(out), faiss.swig_ptr(query), faiss.swig_ptr(vectors),
        faiss.swig_ptr(ids), query.shape[1], ids.shape[0], ids.shape[1])
    return out
