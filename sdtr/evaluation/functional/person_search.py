"""Text-based person search metrics (R@K, mAP, mINP, mR) with IRRA semantics.

For one query (a caption by default) the gallery (images) is ordered by
decreasing similarity and ``m_k = 1`` when the k-th item has the query's
identity.  With ``num_rel = sum_k m_k``:

* CMC / R@K: 1 if any relevant item is among the first K;
* AP  = (1 / num_rel) * sum_k m_k * (sum_{j<=k} m_j) / (k + 1);
* INP = num_rel / (position of the last relevant item + 1).

Reported values are means over the queries, in percent, plus
``mR`` = the mean of the R@K values (EKLSR Tables 2-4 report it next to
R@1/5/10; §4.2.1: "the average of all R@K").  Ties follow
:mod:`sdtr.evaluation.functional._common`: a relevant item with the same
similarity as an irrelevant one is ranked first.

A query whose identity has no item in the gallery has no AP/INP (IRRA
divides by zero and yields NaN): both functions raise ``ValueError``.
"""
from typing import Iterable, Optional, Tuple, Union

import torch
from torch import Tensor

from ._common import (PERSON_CPU_CHUNK, add_greater_counts, block_pairs,
                      check_feature_pair, check_sims, check_topk,
                      count_dtype, dense_positive_ranks, exact_fp32_matmul,
                      paired_dots, per_query_stats, person_results,
                      resolve_chunk, work_buffer, work_cell_bytes)

__all__ = ['person_search_metrics', 'person_search_metrics_from_features']

# thresholds compared with a block of similarities in one (broadcast)
# operation: the indicator buffer holds _SLOTS x (rows x cols) cells
_SLOTS = dict(cpu=2, cuda=8)
# relevant (query, item) pairs whose book-keeping is done at once (bounds
# the host and device index arrays)
_PAIRS_PER_PASS = 1 << 22


def _as_pids(x, name: str, length: int) -> Tensor:
    x = torch.as_tensor(x)
    if x.dim() != 1:
        raise ValueError(f'{name} must be 1-D, got shape {tuple(x.shape)}')
    if x.is_floating_point() or x.dtype == torch.bool or x.is_complex():
        raise TypeError(f'{name} must hold integers, got {x.dtype}')
    if x.numel() != length:
        raise ValueError(f'{name} has {x.numel()} entries, expected {length}')
    return x.to(device='cpu', dtype=torch.long)


def _no_positive_error(bad: Tensor) -> ValueError:
    return ValueError(
        f'{bad.numel()} quer(y/ies) have no gallery item of their identity '
        f'(first query indices: {bad[:10].tolist()}); AP/INP are undefined. '
        'Remove these queries or complete the gallery.')


def person_search_metrics(sims: Tensor,
                          query_pids,
                          gallery_pids,
                          topk: Union[int, Iterable[int]] = (1, 5,
                                                             10)) -> dict:
    """Exact person-search metrics from a dense similarity matrix.

    Args:
        sims (Tensor): ``[num_queries, num_gallery]`` similarities (text to
            image for the usual t2i protocol).
        query_pids, gallery_pids: integer identities of the rows / columns.
        topk (int | sequence[int]): K of R@K. Defaults to (1, 5, 10).

    Returns:
        dict: ``R@K`` for each K, ``mAP`` and ``mINP`` (percent).

    Raises:
        ValueError: a query has no relevant gallery item, bad shapes, or
            non-finite similarities.
    """
    topk = check_topk(topk)
    check_sims(sims)
    n_q, n_g = sims.shape
    if n_q == 0 or n_g == 0:
        raise ValueError('sims must have at least one query and one item')
    qp = _as_pids(query_pids, 'query_pids', n_q)
    gp = _as_pids(gallery_pids, 'gallery_pids', n_g)
    pos = qp.unsqueeze(1) == gp.unsqueeze(0)
    bad = (~pos.any(1)).nonzero().flatten()
    if bad.numel():
        raise _no_positive_error(bad)
    ranks, num_pos = dense_positive_ranks(sims, pos.to(sims.device))
    first, ap, inp = per_query_stats(ranks, num_pos)
    return person_results(first, ap, inp, topk)


def person_search_metrics_from_features(
        query_feats: Tensor,
        gallery_feats: Tensor,
        query_pids,
        gallery_pids,
        topk: Union[int, Iterable[int]] = (1, 5, 10),
        chunk_size: Optional[Union[int, Tuple[int, int]]] = None,
        max_memory: Optional[int] = None) -> dict:
    """Exact person-search metrics from features, in bounded memory.

    Equal to ``person_search_metrics(query_feats @ gallery_feats.T, ...)``
    without building the matrix or sorting a row.  The queries are ordered
    by their number of relevant items ``P`` and processed in blocks; for a
    block, the similarities to the relevant gallery items are computed with
    a dot product and sorted per query (``S_0 >= ... >= S_{P-1}``, only P
    values per query); the gallery is then scanned in blocks and
    ``c_j = #(irrelevant items with similarity > S_j)`` is accumulated for
    all ``j`` by comparing each block of the product with the thresholds
    (up to 2 per operation on a CPU, 8 on a GPU) and summing the 0/1
    results exactly.  The rank of the j-th relevant item is ``j + c_j``.
    Relevant items are excluded from the counts by index.  The work is about
    ``P`` cheap comparisons per similarity on top of the product, and the
    loop only enqueues device work (one host synchronisation per
    ``2**22`` relevant pairs).  Products run in float32 with TF32/bf16
    disabled.  (Irrelevant items closer than float rounding, ~1e-7, to a
    relevant item's similarity are ties decided on the values as computed
    here.)

    Args:
        query_feats (Tensor): ``[num_queries, D]``.
        gallery_feats (Tensor): ``[num_gallery, D]`` on the same device.
        query_pids, gallery_pids: integer identities.
        topk (int | sequence[int]): K of R@K. Defaults to (1, 5, 10).
        chunk_size (int | (int, int), optional): block shape
            ``(queries, gallery items)``; default 128 x 2048 on CPU, 2**26
            cells on a GPU (fewer if a quarter of the free memory is less).
        max_memory (int, optional): byte budget of the work buffers (a
            float32 similarity plus indicator cells for the thresholds of
            one operation: 12 bytes per block cell on a CPU, 12 on a GPU)
            when ``chunk_size`` is not given.

    Returns:
        dict: same keys and values as :func:`person_search_metrics`.
    """
    topk = check_topk(topk)
    n_q, n_g = check_feature_pair(query_feats, gallery_feats,
                                  ('query_feats', 'gallery_feats'))
    groups = _IdentityGroups(_as_pids(query_pids, 'query_pids', n_q),
                             _as_pids(gallery_pids, 'gallery_pids', n_g))
    dev = query_feats.device
    slots = _SLOTS['cuda' if dev.type == 'cuda' else 'cpu']
    rows, cols = resolve_chunk(chunk_size, max_memory, n_q, n_g, dev,
                               bytes_per_cell=work_cell_bytes(dev, slots),
                               cpu_default=PERSON_CPU_CHUNK)
    first = torch.empty(n_q, dtype=torch.long)
    ap = torch.empty(n_q, dtype=torch.float64)
    inp = torch.empty(n_q, dtype=torch.float64)
    with torch.no_grad(), exact_fp32_matmul():
        counter = _BlockCounter(query_feats.float(), gallery_feats.float(),
                                rows, cols, slots)
        for p0, p1 in _passes(groups.cum, rows, n_q):
            counts = counter.count_pass(groups.relevant_pairs(p0, p1))
            # the rank of the j-th relevant item of a query is j + c_j
            for qi, np_b, c in _split_blocks(counts, groups, p0, p1, rows):
                first[qi], ap[qi], inp[qi] = per_query_stats(
                    c + torch.arange(c.shape[1]), np_b)
    return person_results(first, ap, inp, topk)


class _IdentityGroups:
    """The gallery grouped by identity and the queries ordered by their
    number of relevant items ``P`` (so that a block's queries have nearly
    the same ``P``)."""

    def __init__(self, qp: Tensor, gp: Tensor) -> None:
        # items of identity uniq[u] are g_order[offsets[u]:][:counts[u]]
        gp_sorted, self.g_order = torch.sort(gp, stable=True)
        uniq, counts = torch.unique_consecutive(gp_sorted,
                                                return_counts=True)
        offsets = counts.cumsum(0) - counts
        loc = torch.searchsorted(uniq, qp).clamp_(max=uniq.numel() - 1)
        bad = (uniq[loc] != qp).nonzero().flatten()
        if bad.numel():
            raise _no_positive_error(bad)
        self.q_order = torch.argsort(counts[loc], stable=True)
        self.npos = counts[loc][self.q_order]
        self.first_item = offsets[loc][self.q_order]
        self.cum = torch.cat([torch.zeros(1, dtype=torch.long),
                              self.npos.cumsum(0)])
        self.n_g = gp.numel()

    def relevant_pairs(self, p0: int, p1: int) -> dict:
        """The relevant (query, item) pairs of sorted queries ``[p0, p1)``:
        ``pair_q`` (query position in the range), ``pair_g`` (gallery
        item), ``seg`` (first pair of each query) and ``npos``."""
        nb, e = p1 - p0, int(self.cum[p1] - self.cum[p0])
        npos = self.npos[p0:p1]
        seg = self.cum[p0:p1] - self.cum[p0]
        pair_q = torch.repeat_interleave(torch.arange(nb), npos)
        pair_g = self.g_order[self.first_item[p0:p1][pair_q] +
                              torch.arange(e) - seg[pair_q]]
        return dict(queries=self.q_order[p0:p1], pair_q=pair_q,
                    pair_g=pair_g, seg=seg, npos=npos, n_g=self.n_g)


class _BlockCounter:
    """``c_j``: the irrelevant gallery items scoring above the j-th best
    relevant item of each query, counted over blocks of the product."""

    def __init__(self, queries: Tensor, gallery: Tensor, rows: int,
                 cols: int, slots: int) -> None:
        self.qf, self.gal = queries, gallery
        self.rows, self.cols, self.slots = rows, cols, slots
        dev = queries.device
        self.cdtype = count_dtype(gallery.shape[0] + 1, dev)
        self.buf = torch.empty(rows * cols, device=dev)
        self.work = work_buffer(slots * rows * cols, dev)
        self.ones = torch.ones(cols, device=dev)
        self.qbuf = torch.empty(rows * queries.shape[1], device=dev)

    def count_pass(self, pairs: dict) -> Tensor:
        """The counts of one pass of queries (one device-to-host transfer),
        block after block, each ``[P, n]`` flattened."""
        nb, e = pairs['queries'].numel(), pairs['pair_q'].numel()
        dev = self.qf.device
        mask_r, mask_c, cut, n_cb = block_pairs(
            pairs['pair_q'], pairs['pair_g'], self.rows, self.cols, nb,
            pairs['n_g'], dev)
        # one upload of the pass's index arrays
        qi_d, pq_d, pg_d, seg_d, np_d = torch.cat(
            [pairs['queries'], pairs['pair_q'], pairs['pair_g'],
             pairs['seg'], pairs['npos']]).to(dev).split([nb, e, e, nb, nb])
        # similarities to the relevant items, sorted decreasingly within
        # each query (stable sorts: by value, then by query)
        psim = paired_dots(self.qf, qi_d[pq_d], self.gal, pg_d)
        psim, perm = torch.sort(psim, descending=True, stable=True)
        psim = psim[torch.sort(pq_d[perm], stable=True).indices]
        counts = []
        for rb, r0 in enumerate(range(0, nb, self.rows)):
            n = min(self.rows, nb - r0)
            p = int(pairs['npos'][r0 + n - 1])  # the largest P of the block
            # thresholds [p, n, 1]; +inf beyond a query's P counts nothing
            ar = torch.arange(p, device=dev)
            idx = (seg_d[r0:r0 + n].unsqueeze(0) +
                   ar.unsqueeze(1)).clamp_(max=e - 1)
            thr = torch.where(ar.unsqueeze(1) < np_d[r0:r0 + n], psim[idx],
                              float('inf')).unsqueeze(2)
            masks = (mask_r, mask_c, cut[rb * n_cb:(rb + 1) * n_cb + 1])
            counts.append(self._count_block(qi_d[r0:r0 + n], thr, masks))
        return torch.cat(counts).cpu().long()

    def _count_block(self, qi: Tensor, thr: Tensor, masks: tuple) -> Tensor:
        """Counts ``[P, n]`` (flattened) of the queries ``qi`` against every
        gallery block; relevant items are excluded by index."""
        n, p, d = qi.numel(), thr.shape[0], self.qf.shape[1]
        mask_r, mask_c, cut = masks
        qf = torch.index_select(self.qf, 0, qi,
                                out=self.qbuf[:n * d].view(n, d))
        cnt = torch.zeros(p, n, dtype=self.cdtype, device=qf.device)
        n_g = self.gal.shape[0]
        for cb, g0 in enumerate(range(0, n_g, self.cols)):
            m = min(self.cols, n_g - g0)
            s = self.buf[:n * m].view(n, m)
            torch.mm(qf, self.gal[g0:g0 + m].t(), out=s)
            lo, hi = cut[cb], cut[cb + 1]
            if hi > lo:
                s[mask_r[lo:hi], mask_c[lo:hi]] = float('-inf')
            s3 = s.unsqueeze(0)
            for j0 in range(0, p, self.slots):
                j1 = min(j0 + self.slots, p)
                add_greater_counts(cnt[j0:j1], s3, thr[j0:j1], self.work,
                                   self.ones)
        return cnt.view(-1)


def _split_blocks(counts: Tensor, groups: _IdentityGroups, p0: int,
                  p1: int, rows: int):
    """``(query indices, their P, counts [n, P])`` of each block of a pass
    (the layout of :meth:`_BlockCounter.count_pass`)."""
    o = 0
    for r0 in range(0, p1 - p0, rows):
        n = min(rows, p1 - p0 - r0)
        npos = groups.npos[p0 + r0:p0 + r0 + n]
        p = int(npos[-1])
        yield (groups.q_order[p0 + r0:p0 + r0 + n], npos,
               counts[o:o + p * n].view(p, n).t())
        o += p * n


def _passes(cum: Tensor, rows: int, n_q: int):
    """Ranges ``[p0, p1)`` of (sorted) query positions, whole blocks of
    ``rows`` queries, with at most :data:`_PAIRS_PER_PASS` relevant pairs
    (at least one block)."""
    bounds = list(range(0, n_q, rows)) + [n_q]
    cum = cum.tolist()
    start = 0
    for prev, end in zip(bounds[:-1], bounds[1:]):
        if prev > start and cum[end] - cum[start] > _PAIRS_PER_PASS:
            yield start, prev
            start = prev
    yield start, n_q
