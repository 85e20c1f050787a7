"""Helpers shared by the exact retrieval metrics.

Tie rule (used by every function in :mod:`sdtr.evaluation.functional`)
-----------------------------------------------------------------------
For one query, the rank (0-based position) of a relevant ("positive") item
is::

    rank = #(irrelevant items with a strictly greater similarity)
         + #(relevant items ranked before it)

i.e. when a relevant and an irrelevant item have exactly the same similarity
the relevant one is ranked first, and relevant items are ordered by
decreasing similarity among themselves (their mutual order never changes a
metric).  The dense functions implement this with two stable sorts of each
row, the feature-level functions by counting, so both give the same integer
ranks and therefore bit-identical metrics.
"""
import math
from contextlib import contextmanager
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

# Default work-block shapes (rows, columns) of the chunked functions on a
# CPU, tuned with tools/analysis_tools/benchmark_metrics.py: the similarity
# block and its 0/1 indicator stay in the L2/L3 caches, so the comparisons
# are cheap next to the matrix product.
RSITR_CPU_CHUNK = (512, 1024)
PERSON_CPU_CHUNK = (128, 2048)
#: cells of one work block on a GPU: big enough that a block's product
#: saturates the device (a few dozen launches for 20k x 100k), small next to
#: the device memory
CUDA_BLOCK_CELLS = 1 << 26
#: share of the free device memory the work buffers may take by default
CUDA_MEMORY_FRACTION = 0.25


def check_topk(topk: Union[int, Iterable[int]]) -> Tuple[int, ...]:
    """Validate ``topk`` and return it as a tuple of positive ints."""
    if isinstance(topk, int):
        topk = (topk, )
    topk = tuple(topk)
    if len(topk) == 0:
        raise ValueError('topk must not be empty')
    for k in topk:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f'topk values must be positive ints, got {topk}')
    if len(set(topk)) != len(topk):
        raise ValueError(f'topk has duplicate values: {topk}')
    return topk


def all_finite(x: Tensor) -> bool:
    """``torch.isfinite(x).all()`` with a fast path: a finite float sum
    proves every element finite (NaN/inf propagate); only an overflowing or
    non-finite sum falls back to the element-wise test."""
    if x.numel() == 0:
        return True
    if bool(torch.isfinite(x.sum(dtype=torch.float32))):
        return True
    return bool(torch.isfinite(x).all())


def check_sims(sims: Tensor, name: str = 'sims') -> Tensor:
    if not isinstance(sims, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(sims)}')
    if sims.dim() != 2:
        raise ValueError(f'{name} must be 2-D, got shape {tuple(sims.shape)}')
    if not sims.is_floating_point():
        raise TypeError(f'{name} must be a floating tensor, got {sims.dtype}')
    if not all_finite(sims):
        raise ValueError(f'{name} contains NaN or infinite values')
    return sims


def check_feats(feats: Tensor, name: str) -> Tensor:
    if not isinstance(feats, Tensor):
        raise TypeError(f'{name} must be a torch.Tensor, got {type(feats)}')
    if feats.dim() != 2:
        raise ValueError(
            f'{name} must be 2-D [N, D], got shape {tuple(feats.shape)}')
    if not feats.is_floating_point():
        raise TypeError(f'{name} must be a floating tensor, got {feats.dtype}')
    if not all_finite(feats):
        raise ValueError(f'{name} contains NaN or infinite values')
    return feats


def check_feature_pair(a: Tensor, b: Tensor, names: Tuple[str, str]
                       ) -> Tuple[int, int]:
    """Check two feature matrices of one metric (2-D, finite, same width
    and device, non-empty); returns their lengths."""
    check_feats(a, names[0])
    check_feats(b, names[1])
    if a.shape[1] != b.shape[1]:
        raise ValueError(f'{names[0]} and {names[1]} have different widths: '
                         f'{a.shape[1]} vs {b.shape[1]}')
    if a.device != b.device:
        raise ValueError(f'{names[0]} and {names[1]} are on different '
                         'devices')
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise ValueError(f'need at least one row of {names[0]} and one of '
                         f'{names[1]}')
    return a.shape[0], b.shape[0]


def paired_dots(a: Tensor, a_index: Tensor, b: Tensor,
                b_index: Tensor) -> Tensor:
    """``(a[a_index] * b[b_index]).sum(1)``: the similarities of the given
    pairs, in steps of about 2**22 gathered values."""
    out = torch.empty(a_index.numel(), device=a.device)
    step = max(1, (1 << 22) // max(a.shape[1], 1))
    for e0 in range(0, a_index.numel(), step):
        e1 = min(e0 + step, a_index.numel())
        out[e0:e1] = (a[a_index[e0:e1]] * b[b_index[e0:e1]]).sum(1)
    return out


def check_index_vector(x, name: str, length: int,
                       upper: Optional[int] = None) -> Tensor:
    """Convert ``x`` to a 1-D int64 CPU tensor and check its length/range."""
    x = torch.as_tensor(x)
    if x.dim() != 1:
        raise ValueError(f'{name} must be 1-D, got shape {tuple(x.shape)}')
    if x.is_floating_point() or x.dtype == torch.bool or x.is_complex():
        raise TypeError(f'{name} must hold integers, got {x.dtype}')
    x = x.to(device='cpu', dtype=torch.long)
    if x.numel() != length:
        raise ValueError(f'{name} has {x.numel()} entries, expected {length}')
    if upper is not None and x.numel() > 0 and (int(x.min()) < 0
                                                or int(x.max()) >= upper):
        raise ValueError(f'{name} values must lie in [0, {upper})')
    return x


def work_cell_bytes(device: torch.device, slots: int = 1) -> int:
    """Bytes per block cell of the chunked metrics' work buffers: a float32
    similarity plus ``slots`` indicator cells (float32 on a CPU, bool on a
    GPU, see :func:`add_greater_counts`)."""
    return 4 + slots * (1 if device.type == 'cuda' else 4)


def _balanced(size: int, n: int) -> int:
    """Block size ``<= size`` giving the same number of blocks over ``n``
    items but no small last block (20000 in blocks of 16384 -> 10000)."""
    blocks = -(-n // max(size, 1))
    return max(1, -(-n // max(blocks, 1)))


def resolve_chunk(chunk_size,
                  max_memory: Optional[int],
                  n_rows: int,
                  n_cols: int,
                  device: torch.device,
                  bytes_per_cell: int = 8,
                  cpu_default: Tuple[int, int] = RSITR_CPU_CHUNK
                  ) -> Tuple[int, int]:
    """Work-block shape ``(rows, cols)``.

    ``chunk_size`` may be an int (same for both axes) or a pair and is used
    as given.  Without it a CPU uses ``cpu_default`` (cache-sized blocks) and
    a GPU blocks of :data:`CUDA_BLOCK_CELLS` cells (up to 32768 columns),
    fewer when the work buffers (``bytes_per_cell`` per cell) would take more
    than :data:`CUDA_MEMORY_FRACTION` of the free device memory;
    ``max_memory`` (bytes) then caps the work buffers.  Default blocks are
    balanced (no small last block).
    """
    if chunk_size is not None:
        if isinstance(chunk_size, int):
            rows = cols = chunk_size
        else:
            rows, cols = chunk_size
        if int(rows) < 1 or int(cols) < 1:
            raise ValueError(f'chunk_size must be positive, got {chunk_size}')
        rows, cols = int(rows), int(cols)
    else:
        if device.type == 'cuda':
            free = torch.cuda.mem_get_info(device)[0]
            cells = min(CUDA_BLOCK_CELLS,
                        int(free * CUDA_MEMORY_FRACTION) // bytes_per_cell)
            cells = max(cells, 1 << 16)
            cols = min(n_cols, 32768)
            rows = max(1, cells // cols)
        else:
            rows, cols = cpu_default
        if max_memory is not None:
            if max_memory < bytes_per_cell:
                raise ValueError('max_memory is too small')
            cols = max(1, min(cols, n_cols, int(max_memory) // bytes_per_cell))
            rows = max(1, min(rows,
                              int(max_memory) // (bytes_per_cell * cols)))
        rows = _balanced(min(rows, n_rows), n_rows)
        cols = _balanced(min(cols, n_cols), n_cols)
    # block sums of 0/1 are accumulated in float32 on a CPU: exact below
    # 2**24
    limit = 1 << 24
    return (max(1, min(rows, n_rows, limit)), max(1, min(cols, n_cols,
                                                         limit)))


def count_dtype(max_count: int,
                device: torch.device = torch.device('cpu')) -> torch.dtype:
    """Accumulator dtype of counts up to ``max_count``: int64 on a GPU; on a
    CPU float32 (exact below 2**24; lets :func:`add_greater_counts` use one
    fused ``addmv``), else float64."""
    if device.type == 'cuda':
        return torch.int64
    return torch.float32 if max_count < (1 << 24) else torch.float64


def work_buffer(cells: int, device: torch.device) -> Tensor:
    """Flat indicator buffer of :func:`add_greater_counts`."""
    return torch.empty(
        cells,
        dtype=torch.bool if device.type == 'cuda' else torch.float32,
        device=device)


def add_greater_counts(acc: Tensor,
                       sims: Tensor,
                       thr: Tensor,
                       work: Tensor,
                       ones: Optional[Tensor] = None,
                       dim: int = -1) -> None:
    """``acc += (sims > thr).sum(dim)``, exact, without a fresh temporary.

    ``sims`` is ``[n, m]`` (``dim`` -1 or 0) or ``[1, n, m]`` with ``thr``
    ``[g, n, 1]`` (``g`` thresholds of every row in one pass, ``dim=-1``);
    ``acc`` has the shape of the reduced broadcast result.  ``work`` is a
    flat :func:`work_buffer` of at least as many cells as the broadcast
    result, ``ones`` (CPU only) float32 ones, at least as many as the
    reduced dimension.

    A GPU writes the comparison as bool and sums it in int64 (two bytes of
    memory traffic per cell besides reading ``sims``).  A CPU writes float32
    0/1 values that stay in cache and sums them with one ``addmv`` (exact in
    float32 below 2**24): several times faster than a bool reduction there.
    """
    shape = torch.broadcast_shapes(sims.shape, thr.shape)
    c = work[:math.prod(shape)].view(shape)
    torch.gt(sims, thr, out=c)
    if work.dtype == torch.bool:
        acc.add_(c.sum(dim, dtype=acc.dtype).view(acc.shape))
        return
    if dim == 0:
        c2 = c.t()
    else:
        c2 = c.view(-1, shape[-1])
    flat = acc.view(-1)
    if flat.dtype == c2.dtype:
        flat.addmv_(c2, ones[:c2.shape[1]])
    else:
        flat.add_(torch.mv(c2, ones[:c2.shape[1]]))


def block_pairs(pair_rows: Tensor, pair_cols: Tensor, rows: int, cols: int,
                n_rows: int, n_cols: int, device: torch.device
                ) -> Tuple[Tensor, Tensor, List[int], int]:
    """Group (row, column) cells of a ``n_rows x n_cols`` matrix by work
    block of ``rows x cols``, for masking them by index in the chunked loops.

    Returns ``(local_rows, local_cols, cut, n_col_blocks)``: the block-local
    coordinates (on ``device``, uploaded once) of the cells of block
    ``(rb, cb)`` are entries ``cut[b]:cut[b + 1]`` with
    ``b = rb * n_col_blocks + cb`` (``cut`` is a host list, so the loops
    slice them without synchronising with the device).
    """
    n_cb = -(-n_cols // cols)
    n_blocks = -(-n_rows // rows) * n_cb
    key = (pair_rows // rows) * n_cb + pair_cols // cols
    key, order = torch.sort(key, stable=True)
    local = torch.stack([pair_rows[order] % rows,
                         pair_cols[order] % cols]).to(device)
    cut = torch.searchsorted(key, torch.arange(n_blocks + 1)).tolist()
    return local[0], local[1], cut, n_cb


@contextmanager
def exact_fp32_matmul():
    """Run float32 products in full IEEE precision (no TF32 / bf16)."""
    prev = torch.get_float32_matmul_precision()
    if prev != 'highest':
        torch.set_float32_matmul_precision('highest')
    try:
        yield
    finally:
        if prev != 'highest':
            torch.set_float32_matmul_precision(prev)


# --------------------------------------------------------------------------
# dense tie-aware ranking
# --------------------------------------------------------------------------
def dense_sorted_matches(sims: Tensor, pos: Tensor) -> Tensor:
    """Boolean matrix ``m[q, k]``: is the k-th ranked item of row q relevant.

    Rows are ordered by decreasing similarity; among equal similarities the
    relevant items come first (two stable sorts: relevance, then score).
    """
    order = torch.argsort((~pos).to(torch.uint8), dim=1, stable=True)
    scores = sims.gather(1, order)
    order2 = torch.sort(scores, dim=1, descending=True, stable=True).indices
    return pos.gather(1, order).gather(1, order2)


def dense_positive_ranks(sims: Tensor, pos: Tensor) -> Tuple[Tensor, Tensor]:
    """Sorted 0-based ranks of the relevant items of every row.

    Returns ``(ranks [Q, P], num_pos [Q])`` (CPU int64) where ``P`` is the
    largest number of relevant items of a row; entries beyond ``num_pos`` are
    padding (the number of columns).
    """
    m = dense_sorted_matches(sims, pos)
    num_pos = m.sum(1)
    n_cols = m.shape[1]
    p_max = max(int(num_pos.max()) if num_pos.numel() else 0, 1)
    pos_idx = torch.arange(n_cols, device=m.device).expand_as(m)
    keyed = torch.where(m, pos_idx, torch.full_like(pos_idx, n_cols))
    ranks = torch.sort(keyed, dim=1).values[:, :p_max]
    return ranks.cpu(), num_pos.cpu()


# --------------------------------------------------------------------------
# shared finalisation (identical for dense and chunked)
# --------------------------------------------------------------------------
def recall_from_first_ranks(first_ranks: Tensor,
                            topk: Sequence[int]) -> Tuple[float, ...]:
    n = first_ranks.numel()
    return tuple(100.0 * int((first_ranks < k).sum()) / n for k in topk)


def per_query_stats(ranks: Tensor,
                    num_pos: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """First rank, AP and INP of each query from its sorted positive ranks.

    ``ranks`` [n, P] (sorted ascending in the first ``num_pos`` entries) and
    ``num_pos`` [n] >= 1.  AP and INP follow IRRA: with ``r_j`` the rank of
    the (j+1)-th relevant item, ``AP = mean_j (j + 1) / (r_j + 1)`` and
    ``INP = num_pos / (r_last + 1)``.  The per-row sum is a sequential
    ``cumsum`` read at ``num_pos - 1``, so padding width cannot change it.
    """
    ranks = ranks.cpu().long()
    num_pos = num_pos.cpu().long()
    p = ranks.shape[1]
    j = torch.arange(1, p + 1, dtype=torch.float64)
    terms = j.unsqueeze(0) / (ranks.double() + 1.0)
    last = (num_pos - 1).unsqueeze(1)
    ap = terms.cumsum(1).gather(1, last).squeeze(1) / num_pos.double()
    inp = num_pos.double() / (ranks.gather(1, last).squeeze(1).double() + 1.)
    return ranks[:, 0].clone(), ap, inp


def mean_percent(x: Tensor) -> float:
    """Order-independent (exactly rounded) mean of ``x`` times 100."""
    return 100.0 * math.fsum(x.tolist()) / x.numel()


def person_results(first: Tensor, ap: Tensor, inp: Tensor,
                   topk: Sequence[int], prefix: str = '') -> dict:
    out = {}
    recalls = recall_from_first_ranks(first, topk)
    for k, r in zip(topk, recalls):
        out[f'{prefix}R@{k}'] = r
    out[f'{prefix}mAP'] = mean_percent(ap)
    out[f'{prefix}mINP'] = mean_percent(inp)
    out[f'{prefix}mR'] = math.fsum(recalls) / len(recalls)
    return out


def rsitr_results(i2t_first: Tensor, t2i_first: Tensor,
                  topk: Sequence[int]) -> dict:
    out = {}
    i2t = recall_from_first_ranks(i2t_first, topk)
    t2i = recall_from_first_ranks(t2i_first, topk)
    for k, r in zip(topk, i2t):
        out[f'i2t_R@{k}'] = r
    for k, r in zip(topk, t2i):
        out[f't2i_R@{k}'] = r
    out['mR'] = math.fsum(i2t + t2i) / (len(i2t) + len(t2i))
    return out
