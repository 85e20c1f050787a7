"""Latency of a top-k text query on a large gallery vs. one memory read.

For a gallery of N x D L2-normalised features (default 1,000,000 x 512) in
fp32 and fp16 this prints, as the median of ``--repeat`` runs:

* ``read``: the time of just reading the gallery once from memory (the
  fastest of a max-reduction and a sum over every element; a lower bound for
  any exact search, which must touch every feature);
* ``search``: :func:`sdtr.search.topk_search` of one query (top-k, exact);
* ``ratio`` = search / read (target <= 1.5), the median of the ratios of
  back-to-back (read, search) pairs, which is robust to the load of a shared
  machine;
* ``plain``: the bare ``torch.topk(query @ gallery.T, k)`` (one product into
  a fresh score matrix, no tie rule, no memory bound) and ``ratio_plain`` =
  search / plain (target <= 1.5), timed the same way.

``--queries Q`` times Q queries at once (e.g. 256), ``--device cuda`` runs
on a GPU (timings synchronise the device).

The query is a feature vector (encoding a caption with a model is
independent of the gallery size and is not part of this figure).

Example::

    python tools/analysis_tools/benchmark_search.py --num 1000000 --dim 512
"""
import argparse
import statistics
import time

import torch


def _no_sync():
    pass


def _clock(fn, sync=_no_sync):
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def _paired(read_fns, search_fn, repeat, sync=_no_sync):
    """Alternate read and search timings so both see the same machine load
    (shared CPUs); returns the medians and the median per-pair ratio."""
    for fn in read_fns + [search_fn]:
        fn()  # warm-up (page faults, thread pool)
    reads, searches, ratios = [], [], []
    for _ in range(repeat):
        read = min(_clock(fn, sync) for fn in read_fns)
        search = _clock(search_fn, sync)
        reads.append(read)
        searches.append(search)
        ratios.append(search / read)
    return (statistics.median(reads), statistics.median(searches),
            statistics.median(ratios))


def benchmark(num, dim, topk=10, repeat=7, dtypes=('fp32', 'fp16'),
              seed=0, chunk_size=None, queries=1, device='cpu'):
    from sdtr.search import topk_search
    device = torch.device(device)
    if device.type == 'cuda':
        def sync():
            torch.cuda.synchronize(device)
    else:
        sync = _no_sync
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(num, dim, generator=gen)
    base = torch.nn.functional.normalize(base, dim=-1)
    src = torch.arange(queries) * (num // max(queries, 1)) + num // 2
    src = src % num
    query = base[src] + 0.05 * torch.randn(queries, dim, generator=gen)
    query = torch.nn.functional.normalize(query, dim=1)
    if queries == 1:
        query = query[0]
    rows = []
    for name in dtypes:
        dtype = dict(fp32=torch.float32, fp16=torch.float16)[name]
        gallery = base.to(device=device, dtype=dtype)
        q = query.to(device=device, dtype=dtype)

        def search():
            return topk_search(q, gallery, topk, chunk_size=chunk_size)

        def plain():
            return torch.topk(q @ gallery.t(), topk, dim=-1)

        read, search_s, ratio = _paired(
            [lambda: torch.amax(gallery), lambda: torch.sum(gallery)],
            search, repeat, sync)
        plain_s, search_s2, ratio_plain = _paired([plain], search, repeat,
                                                  sync)
        _, idx = search()
        if not torch.equal(idx.reshape(queries, -1)[:, 0].cpu(), src):
            raise RuntimeError('the benchmark queries did not find their '
                               'source rows first: the search is wrong')
        size = gallery.numel() * gallery.element_size()
        rows.append(dict(dtype=name, queries=queries, bytes=size,
                         read_s=read, search_s=search_s, ratio=ratio,
                         plain_s=plain_s, ratio_plain=ratio_plain))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num', type=int, default=1_000_000)
    parser.add_argument('--dim', type=int, default=512)
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--dtypes', nargs='+', default=['fp32', 'fp16'],
                        choices=['fp32', 'fp16'])
    parser.add_argument('--chunk-size', type=int, help='gallery rows/block')
    parser.add_argument('--threads', type=int, help='torch threads')
    parser.add_argument('--queries', type=int, default=1,
                        help='queries searched at once')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = benchmark(args.num, args.dim, args.topk, args.repeat,
                     args.dtypes, chunk_size=args.chunk_size,
                     queries=args.queries, device=args.device)
    print(f'gallery {args.num} x {args.dim}, {args.queries} queries, '
          f'top-{args.topk}, {args.device}, {torch.get_num_threads()} '
          f'threads, median of {args.repeat}')
    print(f'{"dtype":6} {"size MiB":>9} {"read ms":>9} {"search ms":>10} '
          f'{"ratio":>6} {"plain ms":>9} {"ratio_plain":>11}')
    for r in rows:
        print(f'{r["dtype"]:6} {r["bytes"] / 2**20:9.0f} '
              f'{1e3 * r["read_s"]:9.1f} {1e3 * r["search_s"]:10.1f} '
              f'{r["ratio"]:6.2f} {1e3 * r["plain_s"]:9.1f} '
              f'{r["ratio_plain"]:11.2f}')
    return rows


if __name__ == '__main__':
    main()
