"""Latency of a top-k text query on a large gallery vs. one memory read.

For a gallery of N x D L2-normalised features (default 1,000,000 x 512) in
fp32 and fp16 this prints, as the median of ``--repeat`` runs:

* ``read``: the time of just reading the gallery once from memory (the
  fastest of a max-reduction and a sum over every element; a lower bound for
  any exact search, which must touch every feature);
* ``search``: :func:`sdtr.apis.topk_search` of one query (top-k, exact);
* ``ratio`` = search / read (target <= 1.5), the median of the ratios of
  back-to-back (read, search) pairs, which is robust to the load of a shared
  machine.

The query is a feature vector (encoding a caption with a model is
independent of the gallery size and is not part of this figure).

Example::

    python tools/analysis_tools/benchmark_search.py --num 1000000 --dim 512
"""
import argparse
import statistics
import time

import torch


def _clock(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _paired(read_fns, search_fn, repeat):
    """Alternate read and search timings so both see the same machine load
    (shared CPUs); returns the medians and the median per-pair ratio."""
    for fn in read_fns + [search_fn]:
        fn()  # warm-up (page faults, thread pool)
    reads, searches, ratios = [], [], []
    for _ in range(repeat):
        read = min(_clock(fn) for fn in read_fns)
        search = _clock(search_fn)
        reads.append(read)
        searches.append(search)
        ratios.append(search / read)
    return (statistics.median(reads), statistics.median(searches),
            statistics.median(ratios))


def benchmark(num, dim, topk=10, repeat=7, dtypes=('fp32', 'fp16'),
              seed=0, chunk_size=None):
    from sdtr.apis import topk_search
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(num, dim, generator=gen)
    base = torch.nn.functional.normalize(base, dim=-1)
    query = base[num // 2] + 0.05 * torch.randn(dim, generator=gen)
    query = torch.nn.functional.normalize(query, dim=0)
    rows = []
    for name in dtypes:
        dtype = dict(fp32=torch.float32, fp16=torch.float16)[name]
        gallery = base.to(dtype)
        read, search, ratio = _paired(
            [lambda: torch.amax(gallery), lambda: torch.sum(gallery)],
            lambda: topk_search(query, gallery, topk, chunk_size=chunk_size),
            repeat)
        _, idx = topk_search(query, gallery, topk, chunk_size=chunk_size)
        if int(idx[0]) != num // 2:
            raise RuntimeError('the benchmark query did not find its source '
                               'row first: the search is wrong')
        size = gallery.numel() * gallery.element_size()
        rows.append(dict(dtype=name, bytes=size, read_s=read,
                         search_s=search, ratio=ratio))
        del gallery
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
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = benchmark(args.num, args.dim, args.topk, args.repeat,
                     args.dtypes, chunk_size=args.chunk_size)
    print(f'gallery {args.num} x {args.dim}, top-{args.topk}, '
          f'{torch.get_num_threads()} threads, median of {args.repeat}')
    print(f'{"dtype":6} {"size MiB":>9} {"read ms":>9} {"search ms":>10} '
          f'{"ratio":>6}')
    for r in rows:
        print(f'{r["dtype"]:6} {r["bytes"] / 2**20:9.0f} '
              f'{1e3 * r["read_s"]:9.1f} {1e3 * r["search_s"]:10.1f} '
              f'{r["ratio"]:6.2f}')
    return rows


if __name__ == '__main__':
    main()
