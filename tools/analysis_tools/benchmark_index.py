"""Build time, size, latency and recall@k of each gallery index type.

For ``--num`` synthetic L2-normalised vectors of width ``--dim`` (default
1,000,000 x 512) this builds every index type of :mod:`sdtr.search.index`
(``flat``, ``ivfpq``, ``hnsw``) in ``--work-dir`` through the same code as
``tools/build_gallery.py`` (vectors added in chunks, so the gallery never
has to fit in memory) and prints, per type:

* ``build s``: wall time of writing the index (IVF-PQ: training included);
* ``index MiB``: size of the search structure (flat: the vectors; IVF-PQ:
  codes + cells; HNSW: vectors + graph) and ``total MiB``: the whole folder
  (every index also keeps the vectors, for exact re-scoring and rebuilds);
* ``1 q ms`` / ``256 q ms``: median wall time of one query and of a batch
  of 256 queries (top-``k``), on the memory-mapped index as served;
* ``(cpu)`` after each time: the CPU time the process used for it (all its
  threads).  On a machine shared with other jobs the wall times grow with
  the load; with ``--threads 1`` the CPU time is what the step takes on an
  idle core;
* ``recall@k``: the mean fraction of the exact top-k (flat index) found.

Data (``--data``): ``clustered`` (default) draws vectors around 10,000
random centres (like embeddings of real images, which form groups) and
queries from the same distribution; ``uniform`` draws vectors uniformly on
the sphere, the hardest case for approximate search (all neighbours nearly
equidistant).

Examples::

    python tools/analysis_tools/benchmark_index.py --num 1000000
    python tools/analysis_tools/benchmark_index.py --num 10000000 \\
        --types flat ivfpq --work-dir /big/disk/bench
    python tools/analysis_tools/benchmark_index.py --num 20000 --dim 64 \\
        --types flat hnsw --nprobe 8 16 32   # a quick look
"""
import argparse
import json
import os
import os.path as osp
import shutil
import statistics
import tempfile
import time

import numpy as np


CENTRES, SPREAD = 10_000, 0.6


def _draw(rng, n, dim, data, seed):
    """``n`` unit vectors: around the ``CENTRES`` random centres of ``seed``
    (clustered) or uniform on the sphere."""
    x = rng.standard_normal((n, dim)).astype(np.float32)
    if data == 'clustered':
        cents = np.random.default_rng(seed).standard_normal(
            (CENTRES, dim)).astype(np.float32)
        cents /= np.linalg.norm(cents, axis=1, keepdims=True)
        x = cents[rng.integers(0, CENTRES, n)] + SPREAD / np.sqrt(dim) * x
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def synthetic_chunks(num, dim, chunk=100_000, data='clustered', seed=0):
    """Yield ``(features, names)`` chunks of a reproducible synthetic
    gallery."""
    for start in range(0, num, chunk):
        n = min(chunk, num - start)
        x = _draw(np.random.default_rng([seed, start]), n, dim, data, seed)
        yield x, [f'item_{start + i}' for i in range(n)]


def queries(num_q, dim, data='clustered', seed=0):
    """Query vectors from the gallery's distribution (new draws)."""
    return _draw(np.random.default_rng([seed, 2**31]), num_q, dim, data,
                 seed)


def folder_mib(path, prefix=None):
    total = 0
    for name in os.listdir(path):
        if prefix is None or name.startswith(prefix):
            total += osp.getsize(osp.join(path, name))
    return total / 2**20


def timed(fn, repeat):
    """Median wall and CPU (all threads of the process) seconds of
    ``fn()``."""
    fn()  # warm-up: page in the memory map, start the thread pool
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def train_sample(num, dim, data, seed, size):
    """A random subset of the gallery's rows (as build_gallery takes)."""
    picks, rng = [], np.random.default_rng(seed + 1)
    for x, _ in synthetic_chunks(num, dim, data=data, seed=seed):
        take = max(1, int(round(size * len(x) / num)))
        picks.append(x[rng.choice(len(x), min(take, len(x)),
                                  replace=False)])
    return np.concatenate(picks)


def run(args):
    from sdtr.search.index import (SearchIndex, build_index, default_params,
                                 faiss_available)
    root = args.work_dir or tempfile.mkdtemp(prefix='sdtr-bench-index-')
    os.makedirs(root, exist_ok=True)
    q = queries(max(args.num_queries, args.repeat + 1), args.dim, args.data,
                args.seed)
    batch = q[:args.num_queries]
    rows, exact = [], None
    for kind in args.types:
        path = osp.join(root, f'{kind}-{args.num}x{args.dim}-{args.data}')
        params = {}
        if kind == 'ivfpq' and args.nlist:
            params['nlist'] = args.nlist
        sample = None
        start, start_cpu = time.perf_counter(), time.process_time()
        if kind == 'ivfpq':
            p = dict(default_params('ivfpq', args.num, args.dim), **params)
            sample = train_sample(args.num, args.dim, args.data, args.seed,
                                  min(args.num, max(64 * p['nlist'],
                                                    40 * 2**p['nbits'])))
        build_index(path, synthetic_chunks(args.num, args.dim,
                                           data=args.data, seed=args.seed),
                    args.dim, index_type=kind, num=args.num,
                    train_sample=sample, overwrite=True, **params)
        build_s = time.perf_counter() - start
        build_cpu = time.process_time() - start_cpu
        index = SearchIndex.open(path)
        total = folder_mib(path)
        struct = folder_mib(path, 'vectors.' if kind == 'flat' else 'index-')
        settings = [None]
        if kind == 'ivfpq':
            settings = [dict(nprobe=n, rerank=r) for n in args.nprobe
                        for r in args.rerank]
        elif kind == 'hnsw':
            settings = [dict(ef_search=e) for e in args.ef_search]
        backends = [None]
        if kind == 'flat' and faiss_available():
            backends = ['faiss', 'torch']
        for backend in backends:
            for kw in settings:
                kw = dict(kw or {})
                search = index.search
                if backend == 'torch':  # the path used without faiss
                    import sdtr.search.index as mod
                    search = _without_faiss(mod, index)
                singles = iter(range(10**9))
                one, one_cpu = timed(lambda: search(
                    q[next(singles) % len(q)], args.topk, **kw), args.repeat)
                many, many_cpu = timed(lambda: search(batch, args.topk, **kw),
                                       max(1, args.repeat // 3))
                _, ids = search(batch, args.topk, **kw)
                ids = ids.numpy()
                if exact is None:
                    if kind != 'flat':
                        raise SystemExit('put flat first in --types: it is '
                                         'the exact reference of recall')
                    exact = ids
                recall = float(np.mean([
                    len(set(a) & set(b)) / len(b)
                    for a, b in zip(ids, exact)]))
                label = kind if backend is None else f'{kind} ({backend})'
                if kw:
                    label += ' ' + ','.join(f'{k}={v}' for k, v in
                                            kw.items())
                rows.append(dict(index=label, build_s=build_s,
                                 build_cpu_s=build_cpu, index_mib=struct,
                                 total_mib=total, ms_1=1e3 * one,
                                 ms_batch=1e3 * many, cpu_ms_1=1e3 * one_cpu,
                                 cpu_ms_batch=1e3 * many_cpu,
                                 recall=recall))
                print(_fmt(rows[-1], args), flush=True)
        index.close()
        if not args.keep:
            shutil.rmtree(path, ignore_errors=True)
    if not args.work_dir and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return rows


def _without_faiss(mod, index):
    def search(query, topk, **kw):
        real = mod.faiss_available
        mod.faiss_available = lambda: False
        try:
            return index.search(query, topk, **kw)
        finally:
            mod.faiss_available = real
    return search


def _header(args):
    nq = str(args.num_queries)
    return (f'{"index":32} {"build s":>8} {"(cpu)":>8} {"index MiB":>10} '
            f'{"total MiB":>10} {"1 q ms":>8} {"(cpu)":>8} '
            f'{nq + " q ms":>9} {"(cpu)":>9} '
            f'{"recall@" + str(args.topk):>10}')


def _fmt(r, args):
    return (f'{r["index"]:32} {r["build_s"]:8.1f} {r["build_cpu_s"]:8.1f} '
            f'{r["index_mib"]:10.0f} {r["total_mib"]:10.0f} '
            f'{r["ms_1"]:8.2f} {r["cpu_ms_1"]:8.2f} {r["ms_batch"]:9.1f} '
            f'{r["cpu_ms_batch"]:9.1f} {r["recall"]:10.4f}')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--num', type=int, default=1_000_000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--types', nargs='+', default=['flat', 'ivfpq', 'hnsw'],
                   choices=['flat', 'ivfpq', 'hnsw'],
                   help='index types, flat first (the exact reference)')
    p.add_argument('--data', choices=['clustered', 'uniform'],
                   default='clustered')
    p.add_argument('--topk', type=int, default=10)
    p.add_argument('--num-queries', type=int, default=256)
    p.add_argument('--repeat', type=int, default=9,
                   help='timed single queries (batches: a third of it)')
    p.add_argument('--nlist', type=int, help='IVF cells (default ~sqrt N)')
    p.add_argument('--nprobe', type=int, nargs='+', default=[16])
    p.add_argument('--rerank', type=int, nargs='+', default=[1, 10],
                   help='IVF-PQ exact re-scoring factors (1: off)')
    p.add_argument('--ef-search', type=int, nargs='+', default=[64])
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--work-dir', help='where the indexes are written '
                   '(default: a temporary folder); needs ~2.2x the fp32 '
                   'size of the gallery per type')
    p.add_argument('--keep', action='store_true',
                   help='keep the indexes after the run')
    p.add_argument('--threads', type=int, help='FAISS/torch threads')
    p.add_argument('--json', help='also write the rows to this file')
    args = p.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
        try:
            import faiss
            faiss.omp_set_num_threads(args.threads)
        except ImportError:
            pass
    import torch
    print(f'gallery {args.num} x {args.dim} ({args.data}), top-'
          f'{args.topk}, {torch.get_num_threads()} threads, {os.cpu_count()}'
          ' CPUs')
    print(_header(args), flush=True)
    rows = run(args)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(num=args.num, dim=args.dim, data=args.data,
                           topk=args.topk, rows=rows), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
