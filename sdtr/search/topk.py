"""Exact top-k similarity search over large galleries in bounded memory.

For L2-normalised query features :math:`Q \\in R^{q \\times D}` and gallery
features :math:`G \\in R^{N \\times D}` the score of gallery item ``j`` for
query ``i`` is the cosine similarity :math:`s_{ij} = q_i^\\top g_j` (the
retrieval score of every sdtr model, see
:class:`sdtr.models.retrievers.BaseRetriever`).  :func:`topk_search` returns
the ``k`` best items of every query without materialising the ``q x N``
score matrix: the gallery is visited in row blocks (views, never copies), each
block's scores ``[rows, q]`` are reduced to their own top-k at once and merged
with the running top-k, so the extra memory is ``O(q * rows + q * k)``,
whatever ``N`` is.  As in :mod:`sdtr.evaluation.functional`, the block shape
is chosen from a byte budget (``max_memory``) unless given.

One query (``q == 1``) uses a matrix-vector product, which reads the gallery
once at memory bandwidth; ``tools/analysis_tools/benchmark_search.py``
compares its latency with the time of one plain read of the gallery.

Half-precision galleries are scored in their own dtype (no float32 copy of
the gallery or of a score block is ever made: the top-k are selected in the
product's dtype); scores are returned as float32.

Tie rule: among equal scores the smaller gallery index ranks first, so the
result is deterministic and independent of the block size.
"""
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

#: default byte budget of the per-block score buffer
DEFAULT_MAX_MEMORY = 256 * 1024**2


def _check_2d(x: Tensor, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(x)}')
    if x.dim() != 2:
        raise ValueError(f'{name} must be 2-D [n, D], got shape '
                         f'{tuple(x.shape)}')
    if not x.is_floating_point():
        raise TypeError(f'{name} must be a floating tensor, got {x.dtype}')
    return x


def resolve_block_rows(num_queries: int,
                       num_gallery: int,
                       chunk_size: Optional[int] = None,
                       max_memory: Optional[int] = None) -> int:
    """Gallery rows per block.

    ``chunk_size`` wins when given; otherwise the float32 score block
    ``rows x num_queries`` is kept within ``max_memory`` bytes (default
    :data:`DEFAULT_MAX_MEMORY`), with at least 4096 rows per block (small
    blocks make the per-call overhead of the matrix product dominate).
    """
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or int(chunk_size) < 1:
            raise ValueError(f'chunk_size must be a positive int, got '
                             f'{chunk_size!r}')
        return max(1, min(int(chunk_size), num_gallery))
    budget = DEFAULT_MAX_MEMORY if max_memory is None else int(max_memory)
    if budget < 4 * max(num_queries, 1):
        raise ValueError(f'max_memory={budget} bytes cannot hold one score '
                         f'row of {num_queries} queries')
    rows = budget // (4 * max(num_queries, 1))
    return max(1, min(num_gallery, max(rows, 4096)))


def _sort_ties(scores: Tensor, indices: Tensor) -> Tuple[Tensor, Tensor]:
    """Order by decreasing score, then increasing index."""
    order = torch.argsort(indices, dim=1, stable=True)
    scores, indices = scores.gather(1, order), indices.gather(1, order)
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
    return scores.gather(1, order), indices.gather(1, order)


def _block_topk(scores: Tensor, k: int) -> Tuple[Tensor, Tensor]:
    """``torch.topk`` over dim 1, except that items tied with the k-th score
    are taken by increasing index (``torch.topk`` picks any of them).

    A tie crosses the cut exactly when the (k+1)-th largest score equals the
    k-th, so one ``topk(k + 1)`` finds the rows that need the slow path.
    """
    if k >= scores.shape[1]:
        return torch.topk(scores, k, dim=1, sorted=False)
    s, i = torch.topk(scores, k + 1, dim=1, sorted=True)
    tied_rows = torch.nonzero(s[:, k - 1] == s[:, k]).flatten().tolist()
    s, i = s[:, :k].clone(), i[:, :k].clone()
    for r in tied_rows:
        row, kth = scores[r], s[r, k - 1]
        above = torch.nonzero(row > kth).flatten()
        tied = torch.nonzero(row == kth).flatten()[:k - above.numel()]
        idx = torch.cat([above, tied])
        s[r], i[r] = row[idx], idx
    return s, i


@torch.no_grad()
def topk_search(query: Tensor,
                gallery: Tensor,
                topk: int = 10,
                chunk_size: Optional[int] = None,
                max_memory: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """Top-k gallery items of every query by inner product.

    Args:
        query (Tensor): ``[q, D]`` or ``[D]`` (L2-normalised for cosine).
        gallery (Tensor): ``[N, D]``, same ``D``; any floating dtype (fp16
            galleries stay fp16).
        topk (int): number of results per query; clipped to ``N``.
        chunk_size (int, optional): gallery rows per block.
        max_memory (int, optional): byte budget of a score block (default
            256 MiB) when ``chunk_size`` is not given.

    Returns:
        tuple[Tensor, Tensor]: ``scores`` (float32) and ``indices`` (int64),
        both ``[q, min(topk, N)]`` (``[min(topk, N)]`` for a 1-D query),
        ordered by decreasing score, ties by increasing index.
    """
    squeeze = isinstance(query, Tensor) and query.dim() == 1
    if squeeze:
        query = query.unsqueeze(0)
    _check_2d(query, 'query')
    _check_2d(gallery, 'gallery')
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f'query dim {query.shape[1]} != gallery dim '
                         f'{gallery.shape[1]}')
    if isinstance(topk, bool) or not isinstance(topk, int) or topk < 1:
        raise ValueError(f'topk must be a positive int, got {topk!r}')
    num_q, num_g = query.shape[0], gallery.shape[0]
    if num_g == 0:
        raise ValueError('the gallery is empty')
    k = min(topk, num_g)
    query = query.to(device=gallery.device, dtype=gallery.dtype)
    rows = resolve_block_rows(num_q, num_g, chunk_size, max_memory)

    best_s = best_i = None
    for start in range(0, num_g, rows):
        block = gallery[start:start + rows]
        if num_q == 1:
            scores = torch.mv(block, query[0]).unsqueeze(0)
        else:
            scores = torch.mm(query, block.t())
        # select in the product's own dtype (half-precision values convert
        # exactly to float32, so order and ties are the same) and convert
        # only the k winners: a float32 copy of the block would triple the
        # memory traffic of the search
        kk = min(k, block.shape[0])
        s, i = _block_topk(scores, kk)
        s, i = s.float(), i + start
        if best_s is None:
            best_s, best_i = s, i
        else:
            cand_s = torch.cat([best_s, s], dim=1)
            cand_i = torch.cat([best_i, i], dim=1)
            if cand_s.shape[1] > k:
                # prefer lower indices among equal scores before cutting
                cand_s, cand_i = _sort_ties(cand_s, cand_i)
                cand_s, cand_i = cand_s[:, :k], cand_i[:, :k]
            best_s, best_i = cand_s, cand_i
    best_s, best_i = _sort_ties(best_s, best_i)
    if squeeze:
        return best_s[0], best_i[0]
    return best_s, best_i


def sort_ties(scores: np.ndarray, ids: np.ndarray
              ) -> Tuple[np.ndarray, np.ndarray]:
    """Order every row by decreasing score, then increasing id (the tie
    rule of :func:`topk_search`); ids < 0 (FAISS' "no result") go last with
    score ``-inf``."""
    scores = np.where(ids < 0, -np.inf, scores)
    order = np.lexsort((ids, -scores), axis=-1)
    return (np.take_along_axis(scores, order, -1),
            np.take_along_axis(ids, order, -1))


def select_topk(scores: np.ndarray, ids: np.ndarray, k: int
                ) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` best candidates of every row (``[n, m]`` scores and ids,
    e.g. re-scored approximate results; the score of an id < 0 must be
    ``-inf``), in the order of :func:`sort_ties`.

    One sort of the scores gives the answer unless two of the first
    ``k + 1`` scores of a row are equal (a tie inside the top ``k`` or at
    the cut, where the lower ids must win); only then are the rows sorted
    by score and id.  Six numpy calls: this runs once per query.
    """
    order = np.argsort(-scores, axis=1, kind='stable')[:, :k + 1]
    rows = np.arange(len(scores))[:, None] if len(scores) > 1 else 0
    top = scores[rows, order]
    if (top[:, 1:] == top[:, :-1]).any():
        top, best = sort_ties(scores, ids)
        return top[:, :k], best[:, :k]
    return top[:, :k], ids[rows, order[:, :k]]
