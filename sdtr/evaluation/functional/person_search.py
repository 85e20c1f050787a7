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

from ._common import (PERSON_CPU_CHUNK, add_counts, check_feats, check_sims,
                      check_topk, count_dtype, dense_positive_ranks,
                      exact_fp32_matmul, per_query_stats, person_results,
                      resolve_chunk)

__all__ = ['person_search_metrics', 'person_search_metrics_from_features']

# the 0/1 indicator buffer holds _SLOTS x (rows x cols): _SLOTS thresholds
# of a full block are compared in one (broadcast) operation
_SLOTS = 2
# row blocks whose book-keeping (relevant items, thresholds, AP) is done
# together
_SUPER = 16


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


def _positive_sims(qf: Tensor, gal: Tensor, pidx: Tensor, valid: Tensor,
                   cols: int) -> Tensor:
    """``psim[r, j] = qf[r] . gal[pidx[r, j]]`` where ``valid`` (else any).

    A block usually covers few identities: multiply by the distinct relevant
    items once (a small product), else gather them per query.
    """
    dev = qf.device
    n, p = pidx.shape
    vr, vj = valid.nonzero(as_tuple=True)
    uniq, inv = torch.unique(pidx[vr, vj], return_inverse=True)
    psim = torch.zeros(n, p, device=dev)
    if uniq.numel() * 8 <= max(cols, 8 * p):
        prod = qf @ gal[uniq.to(dev)].t()
        psim[vr.to(dev), vj.to(dev)] = prod[vr.to(dev), inv.to(dev)]
        return psim
    pidx_d = pidx.to(dev)
    step = max(1, (1 << 22) // max(n * qf.shape[1], 1))
    for p0 in range(0, p, step):
        p1 = min(p0 + step, p)
        psim[:, p0:p1] = (gal[pidx_d[:, p0:p1]] * qf.unsqueeze(1)).sum(-1)
    return psim


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
    without building the matrix or sorting a row.  For each block of queries
    (grouped by their number of relevant items P), the similarities to the
    relevant gallery items are computed with a dot product and sorted
    (``S_0 >= ... >= S_{P-1}``, only P values per query); the gallery is then
    scanned in blocks and, in cache, ``c_j = #(irrelevant items with
    similarity > S_j)`` is accumulated (a broadcast comparison with two
    thresholds at once, then an exact 0/1 matrix-vector sum).  The rank of the j-th relevant item
    is ``j + c_j``.  Relevant items are excluded from the counts by index.
    The work is about ``P`` cheap comparisons per similarity on top of the
    product.  Products run in float32 with TF32/bf16 disabled.

    Args:
        query_feats (Tensor): ``[num_queries, D]``.
        gallery_feats (Tensor): ``[num_gallery, D]`` on the same device.
        query_pids, gallery_pids: integer identities.
        topk (int | sequence[int]): K of R@K. Defaults to (1, 5, 10).
        chunk_size (int | (int, int), optional): block shape
            ``(queries, gallery items)``; default 128 x 2048 on CPU.
        max_memory (int, optional): byte budget of the float32 work
            buffers (one block of similarities plus a 0/1 buffer for two
            thresholds: 12 bytes per block cell, 3 MiB by default) when
            ``chunk_size`` is not given.

    Returns:
        dict: same keys and values as :func:`person_search_metrics`.
    """
    topk = check_topk(topk)
    check_feats(query_feats, 'query_feats')
    check_feats(gallery_feats, 'gallery_feats')
    if query_feats.shape[1] != gallery_feats.shape[1]:
        raise ValueError('query_feats and gallery_feats have different '
                         f'widths: {query_feats.shape[1]} vs '
                         f'{gallery_feats.shape[1]}')
    if query_feats.device != gallery_feats.device:
        raise ValueError('query_feats and gallery_feats are on different '
                         'devices')
    n_q, n_g = query_feats.shape[0], gallery_feats.shape[0]
    if n_q == 0 or n_g == 0:
        raise ValueError('need at least one query and one gallery item')
    qp = _as_pids(query_pids, 'query_pids', n_q)
    gp = _as_pids(gallery_pids, 'gallery_pids', n_g)

    # gallery grouped by identity: items of uniq[u] are
    # g_order[offsets[u]:offsets[u] + counts[u]]
    gp_sorted, g_order = torch.sort(gp, stable=True)
    uniq, counts = torch.unique_consecutive(gp_sorted, return_counts=True)
    offsets = counts.cumsum(0) - counts
    loc = torch.searchsorted(uniq, qp).clamp_(max=uniq.numel() - 1)
    bad = (uniq[loc] != qp).nonzero().flatten()
    if bad.numel():
        raise _no_positive_error(bad)
    num_pos = counts[loc]
    start = offsets[loc]
    # queries by (P, identity): blocks have a uniform P and few identities
    by_pid = torch.argsort(qp, stable=True)
    q_order = by_pid[torch.argsort(num_pos[by_pid], stable=True)]

    dev = query_feats.device
    qf_all = query_feats.float()
    gal = gallery_feats.float()
    rows, cols = resolve_chunk(chunk_size, max_memory, n_q, n_g, dev,
                               bytes_per_cell=4 * (1 + _SLOTS),
                               cpu_default=PERSON_CPU_CHUNK)
    col_starts = torch.arange(0, n_g + cols, cols)
    first = torch.empty(n_q, dtype=torch.long)
    ap = torch.empty(n_q, dtype=torch.float64)
    inp = torch.empty(n_q, dtype=torch.float64)
    cdtype = count_dtype(n_g + 1)

    n_cb = (n_g + cols - 1) // cols
    with torch.no_grad(), exact_fp32_matmul():
        buf = torch.empty(rows * cols, device=dev)
        ind = torch.empty(_SLOTS * rows * cols, device=dev)
        ones = torch.ones(cols, device=dev)
        qbuf = torch.empty(min(n_q, rows * _SUPER) * qf_all.shape[1],
                           device=dev)
        # book-keeping is vectorised over super-blocks of _SUPER row blocks
        for b0 in range(0, n_q, rows * _SUPER):
            qi = q_order[b0:b0 + rows * _SUPER]
            nb = qi.numel()
            npos = num_pos[qi]
            p = int(npos.max())
            group = min(p, _SLOTS)  # thresholds per comparison op
            ar = torch.arange(p)
            valid = ar.unsqueeze(0) < npos.unsqueeze(1)
            pidx = g_order[(start[qi].unsqueeze(1) + ar).clamp_(max=n_g - 1)]
            q0 = int(qi[0])
            if int(qi[-1]) - q0 == nb - 1 and torch.equal(
                    qi, torch.arange(q0, q0 + nb)):
                qf_sb = qf_all[q0:q0 + nb]  # contiguous: no copy
            else:  # gather into a reused buffer (no fresh pages)
                qf_sb = torch.index_select(
                    qf_all, 0, qi.to(dev),
                    out=qbuf[:nb * qf_all.shape[1]].view(nb, -1))
            # similarities to the relevant items, sorted decreasingly;
            # padding: -inf to sort last, then +inf so that it counts nothing
            psim = torch.cat([
                _positive_sims(qf_sb[r0:r0 + rows], gal, pidx[r0:r0 + rows],
                               valid[r0:r0 + rows], cols)
                for r0 in range(0, nb, rows)
            ])
            valid_d = valid.to(dev)
            psim.masked_fill_(~valid_d, float('-inf'))
            thr = torch.sort(psim, dim=1, descending=True).values
            thr.masked_fill_(~valid_d, float('inf'))
            thr = thr.t().contiguous().unsqueeze(2)  # [p, nb, 1]
            # relevant (row, column) pairs ordered by (row block, column
            # block) with block-local coordinates, for masking by index
            vr, vj = valid.nonzero(as_tuple=True)
            vc = pidx[vr, vj]
            key = (vr // rows) * n_cb + vc // cols
            key, srt = torch.sort(key, stable=True)
            vr_loc = (vr[srt] % rows).to(dev)
            vc_loc = (vc[srt] % cols).to(dev)
            cut = torch.searchsorted(
                key, torch.arange((nb + rows - 1) // rows * n_cb + 1)).tolist()
            ranks = torch.empty(nb, p, dtype=torch.long)
            for rb, r0 in enumerate(range(0, nb, rows)):
                n = min(rows, nb - r0)
                qf = qf_sb[r0:r0 + n]
                thr_b = thr[:, r0:r0 + n]
                cnt = torch.zeros(p * n, dtype=cdtype, device=dev)
                for cb, g0 in enumerate(range(0, n_g, cols)):
                    m = min(cols, n_g - g0)
                    s = buf[:n * m].view(n, m)
                    torch.mm(qf, gal[g0:g0 + m].t(), out=s)
                    lo, hi = cut[rb * n_cb + cb], cut[rb * n_cb + cb + 1]
                    if hi > lo:  # exclude relevant items by index
                        s[vr_loc[lo:hi], vc_loc[lo:hi]] = float('-inf')
                    s3 = s.unsqueeze(0)
                    for j0 in range(0, p, group):
                        j1 = min(j0 + group, p)
                        c = ind[:(j1 - j0) * n * m].view(j1 - j0, n, m)
                        torch.gt(s3, thr_b[j0:j1], out=c)
                        add_counts(cnt[j0 * n:j1 * n],
                                   c.view((j1 - j0) * n, m), ones[:m])
                ranks[r0:r0 + n] = cnt.view(p, n).t().cpu().long()
            f, a, i = per_query_stats(ranks + ar.unsqueeze(0), npos)
            first[qi] = f
            ap[qi] = a
            inp[qi] = i
    return person_results(first, ap, inp, topk)
