"""sdtr's index types against plain FAISS: build, size, latency, recall.

For ``--num`` synthetic L2-normalised vectors of width ``--dim`` (default
1,000,000 x 512) this builds every index type of :mod:`sdtr.search.index`
(``flat``, ``ivfpq``, ``hnsw``) in ``--work-dir`` through the same code as
``tools/build_gallery.py`` (vectors added in chunks, so the gallery never
has to fit in memory), then searches it as served (memory-mapped) and, at
the same settings, with **plain FAISS** on the same index held in memory
(flat: ``IndexFlatIP``; IVF-PQ: the index read without memory mapping
inside ``IndexRefineFlat`` with ``k_factor = rerank``; HNSW: the index read
without memory mapping), and prints, per type and setting:

* ``build s``: wall time of writing the index (IVF-PQ: training included)
  and ``MiB``: the size of the search structure (flat: the vectors; IVF-PQ:
  codes + cells; HNSW: vectors + graph);
* ``1 q ms``: time per query of single-query searches (``--queries`` of
  them in a row), sdtr and plain, and ``x``: sdtr / plain;
* ``256 q ms``: time of one batch of ``--batch`` queries, sdtr and plain,
  and their ratio;
* ``recall``: the mean fraction of the exact top-k found, sdtr and plain.

sdtr and plain FAISS are timed in turn (sdtr, plain, sdtr, ...) with the
same number of threads (``--threads``, default: the free cores, as sdtr's
search uses), and the medians are compared, so a machine shared with other
jobs slows both alike.  With one thread the times are CPU times (immune to
other jobs), else wall times.  ``--cold`` adds, per index, the wall time
of the first single query after the index's files were dropped from the
page cache (``posix_fadvise(DONTNEED)``), and of ``SearchIndex.verify()``,
which reads (and checks) every file once and makes the next queries warm.

Data (``--data``, one or more): ``clustered`` draws vectors around 10,000
random centres (like embeddings of real images, which form groups) and
queries from the same distribution; ``anisotropic`` is CLIP-like: a common
mean direction, 1,000 semantic centres and noise whose variance falls as
1/i over the i-th principal direction (mean cosine between two vectors
0.45, as between CLIP image embeddings); ``uniform`` is uniform on the
sphere, the hardest case for approximate search.

Examples::

    python tools/analysis_tools/benchmark_index.py --num 100000 \\
        --data clustered anisotropic --threads 1 --cold
    python tools/analysis_tools/benchmark_index.py --num 1000000 \\
        --types flat ivfpq --work-dir /big/disk/bench
    python tools/analysis_tools/benchmark_index.py --num 20000 --dim 64 \\
        --types flat hnsw --nprobe 8 16 32   # a quick look
"""
import argparse
import functools
import json
import os
import os.path as osp
import shutil
import statistics
import tempfile
import time

import numpy as np

CENTRES, SPREAD = 10_000, 0.6
ANISO_CENTRES = 1_000


@functools.lru_cache(maxsize=4)
def _anisotropic_basis(dim, seed):
    """Mean direction, centres and noise transform of the anisotropic
    generator (noise variance 1/i along a random i-th direction)."""
    rng = np.random.default_rng([seed, 7])
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    scale = np.arange(1, dim + 1) ** -0.5
    transform = (basis * (scale / np.linalg.norm(scale))).astype(np.float32)
    mean = rng.standard_normal(dim).astype(np.float32)
    mean /= np.linalg.norm(mean)
    centres = rng.standard_normal((ANISO_CENTRES, dim)).astype(
        np.float32) @ transform.T
    return mean, centres, transform


def _draw(rng, n, dim, data, seed):
    """``n`` unit vectors of the ``data`` distribution of ``seed``."""
    x = rng.standard_normal((n, dim)).astype(np.float32)
    if data == 'clustered':
        cents = np.random.default_rng(seed).standard_normal(
            (CENTRES, dim)).astype(np.float32)
        cents /= np.linalg.norm(cents, axis=1, keepdims=True)
        x = cents[rng.integers(0, CENTRES, n)] + \
            np.float32(SPREAD / np.sqrt(dim)) * x
    elif data == 'anisotropic':
        mean, cents, transform = _anisotropic_basis(dim, seed)
        x = mean + 0.5 * cents[rng.integers(0, ANISO_CENTRES, n)] + \
            x @ transform.T
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


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


def train_sample(num, dim, data, seed, size):
    """A random subset of the gallery's rows (as build_gallery takes)."""
    picks, rng = [], np.random.default_rng(seed + 1)
    for x, _ in synthetic_chunks(num, dim, data=data, seed=seed):
        take = max(1, int(round(size * len(x) / num)))
        picks.append(x[rng.choice(len(x), min(take, len(x)),
                                  replace=False)])
    return np.concatenate(picks)


def folder_mib(path, prefix=None):
    return sum(osp.getsize(osp.join(path, n)) for n in os.listdir(path)
               if prefix is None or n.startswith(prefix)) / 2**20


def paired(fn_a, fn_b, args, repeat, cpu):
    """Median seconds of ``fn_a(x)`` and ``fn_b(x)`` over the arguments
    ``args``, ``repeat`` rounds after a warm-up round.  Each call of one is
    timed right after the same call of the other (so both see the same
    machine), each going first for every other call of a round (the second
    call finds the caches warm).  CPU time of the process if ``cpu``, else
    wall."""
    clock = time.process_time if cpu else time.perf_counter
    rounds = ([], [])
    for r in range(repeat + 1):
        total = [0.0, 0.0]
        for j, x in enumerate(args):
            for i in ((0, 1) if (r + j) % 2 else (1, 0)):
                start = clock()
                (fn_a, fn_b)[i](x)
                total[i] += clock() - start
        if r:  # round 0 warms up
            rounds[0].append(total[0])
            rounds[1].append(total[1])
    return statistics.median(rounds[0]), statistics.median(rounds[1])


def recall(ids, exact):
    k = exact.shape[1]
    return float(np.mean([len(set(a) & set(b)) / k
                          for a, b in zip(ids, exact)]))


def build(kind, path, args, data):
    """Write the sdtr index; returns the build wall seconds."""
    from sdtr.search.index import build_index, default_params
    params = dict(nlist=args.nlist) if kind == 'ivfpq' and args.nlist \
        else {}
    start = time.perf_counter()
    sample = None
    if kind == 'ivfpq':
        p = dict(default_params('ivfpq', args.num, args.dim), **params)
        sample = train_sample(args.num, args.dim, data, args.seed,
                              min(args.num, max(64 * p['nlist'],
                                                40 * 2**p['nbits'])))
    build_index(path, synthetic_chunks(args.num, args.dim, data=data,
                                       seed=args.seed),
                args.dim, index_type=kind, num=args.num,
                train_sample=sample, overwrite=True, **params)
    return time.perf_counter() - start


def plain_faiss(index, vectors):
    """``search(q, k, **settings)`` of plain FAISS on ``index``'s data held
    in memory, at sdtr's settings."""
    import faiss
    if index.index_type == 'flat':
        flat = faiss.IndexFlatIP(index.dim)
        flat.add(vectors)
        return lambda q, k, **kw: flat.search(q, k)
    base = faiss.read_index(osp.join(index.path, index.meta['faiss_file']))
    if index.index_type == 'hnsw':
        return lambda q, k, ef_search, **kw: base.search(
            q, k, params=faiss.SearchParametersHNSW(efSearch=ef_search))
    # IndexRefineFlat copies the vectors (the base index stays ours)
    refine = faiss.IndexRefineFlat(base, faiss.swig_ptr(vectors))

    def search(q, k, nprobe, rerank, **kw):
        ivf = faiss.SearchParametersIVF(nprobe=nprobe)
        if rerank <= 1:
            return base.search(q, k, params=ivf)
        return refine.search(q, k, params=faiss.IndexRefineSearchParameters(
            k_factor=rerank, base_index_params=ivf))
    return search


def settings_of(kind, args, params):
    if kind == 'ivfpq':
        return [dict(nprobe=n or params['nprobe'],
                     rerank=r or params['rerank'])
                for n in args.nprobe for r in args.rerank]
    if kind == 'hnsw':
        return [dict(ef_search=e or params['ef_search'])
                for e in args.ef_search]
    return [{}]


def drop_from_page_cache(folder):
    for name in os.listdir(folder):
        fd = os.open(osp.join(folder, name), os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def cold_row(path, q, args, kw):
    """Wall ms of the first query after dropping the files from the page
    cache, of ``verify()`` (the warm-up) and of the next query."""
    from sdtr.search.index import SearchIndex
    drop_from_page_cache(path)
    index = SearchIndex.open(path, threads=args.threads)
    start = time.perf_counter()
    index.search(q[0], args.topk, **kw)
    first = time.perf_counter() - start
    drop_from_page_cache(path)
    index = SearchIndex.open(path, threads=args.threads)
    start = time.perf_counter()
    index.verify()
    warm = time.perf_counter() - start
    start = time.perf_counter()
    index.search(q[1], args.topk, **kw)
    after = time.perf_counter() - start
    return dict(cold_ms=1e3 * first, verify_s=warm, warmed_ms=1e3 * after)


def measure(index, plain, q, exact, args, kw):
    """One row: paired timings and recalls at settings ``kw``."""
    singles, batch = q[:args.queries, None], q[:args.batch]
    cpu = args.threads == 1
    one = paired(lambda x: index.search(x, args.topk, **kw),
                 lambda x: plain(x, args.topk, **kw), singles, args.repeat,
                 cpu)
    many = paired(lambda x: index.search(x, args.topk, **kw),
                  lambda x: plain(x, args.topk, **kw), [batch],
                  max(2, args.repeat // 3 // 2 * 2), cpu)  # even: fair
    return dict(
        ms_1=1e3 * one[0] / len(singles), plain_ms_1=1e3 * one[1] /
        len(singles), ratio_1=one[0] / one[1], ms_batch=1e3 * many[0],
        plain_ms_batch=1e3 * many[1], ratio_batch=many[0] / many[1],
        recall=recall(index.search(batch, args.topk, **kw)[1].numpy(),
                      exact),
        plain_recall=recall(plain(batch, args.topk, **kw)[1], exact))


def run_data(data, args, root):
    """Every index type on one data distribution; returns the rows."""
    import faiss

    from sdtr.search.index import SearchIndex
    q = queries(max(args.queries, args.batch), args.dim, data, args.seed)
    rows, exact = [], None
    for kind in args.types:
        path = osp.join(root, f'{kind}-{args.num}x{args.dim}-{data}')
        build_s = build(kind, path, args, data)
        # timed as served after --warm: every file read and checked once
        index = SearchIndex.open(path, threads=args.threads).verify()
        vectors = np.ascontiguousarray(np.fromfile(
            index.vectors_path, np.float32).reshape(-1, args.dim))
        if exact is None:
            exact = faiss.knn(q[:args.batch], vectors, args.topk,
                              metric=faiss.METRIC_INNER_PRODUCT)[1]
        plain = plain_faiss(index, vectors)
        mib = folder_mib(path, 'vectors.' if kind == 'flat' else 'index-')
        for kw in settings_of(kind, args, index.params):
            row = dict(data=data, index=kind, settings=kw, build_s=build_s,
                       mib=mib, **measure(index, plain, q, exact, args, kw))
            if args.cold:
                row.update(cold_row(path, q, args, kw))
            rows.append(row)
            print(_fmt(row, args), flush=True)
        index.close()
        if not args.keep:
            shutil.rmtree(path, ignore_errors=True)
    return rows


def _header(args):
    head = (f'{"data":11} {"index":28} {"build s":>7} {"MiB":>6} '
            f'{"1 q ms":>6} {"plain":>6} {"x":>5} '
            f'{str(args.batch) + " q ms":>8} {"plain":>7} {"x":>5} '
            f'{"recall":>6} {"plain":>6}')
    if args.cold:
        head += f' {"cold ms":>8} {"verify s":>8} {"then ms":>7}'
    return head


def _fmt(r, args):
    label = r['index'] + ' ' + ','.join(f'{k}={v}' for k, v in
                                        r['settings'].items())
    line = (f'{r["data"]:11} {label:28} {r["build_s"]:7.1f} {r["mib"]:6.0f} '
            f'{r["ms_1"]:6.3f} {r["plain_ms_1"]:6.3f} {r["ratio_1"]:5.2f} '
            f'{r["ms_batch"]:8.1f} {r["plain_ms_batch"]:7.1f} '
            f'{r["ratio_batch"]:5.2f} {r["recall"]:6.4f} '
            f'{r["plain_recall"]:6.4f}')
    if args.cold:
        line += (f' {r["cold_ms"]:8.1f} {r["verify_s"]:8.2f} '
                 f'{r["warmed_ms"]:7.2f}')
    return line


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog=__doc__[__doc__.index('Examples::'):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--num', type=int, default=1_000_000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--types', nargs='+', default=['flat', 'ivfpq', 'hnsw'],
                   choices=['flat', 'ivfpq', 'hnsw'])
    p.add_argument('--data', nargs='+', default=['clustered'],
                   choices=['clustered', 'anisotropic', 'uniform'])
    p.add_argument('--topk', type=int, default=10)
    p.add_argument('--queries', type=int, default=64,
                   help='single queries per timing')
    p.add_argument('--batch', type=int, default=256,
                   help='queries of the batch timing')
    p.add_argument('--repeat', type=int, default=10,
                   help='rounds of single queries (batches: a third, '
                   'even)')
    p.add_argument('--nlist', type=int, help='IVF cells (default ~sqrt N)')
    p.add_argument('--nprobe', type=int, nargs='+', default=[0],
                   help='IVF-PQ cells per query (0: the index default)')
    p.add_argument('--rerank', type=int, nargs='+', default=[0],
                   help='IVF-PQ exact re-scoring factors (1: off; 0: the '
                   'index default)')
    p.add_argument('--ef-search', type=int, nargs='+', default=[0],
                   help='HNSW beam widths (0: the index default)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--threads', type=int,
                   help='threads of sdtr and plain FAISS (default: the '
                   'free cores)')
    p.add_argument('--cold', action='store_true',
                   help='also time the first query with the index files '
                   'out of the page cache, and verify()')
    p.add_argument('--work-dir', help='where the indexes are written '
                   '(default: a temporary folder); needs ~2.2x the fp32 '
                   'size of the gallery per type')
    p.add_argument('--keep', action='store_true',
                   help='keep the indexes after the run')
    p.add_argument('--json', help='also write the rows to this file')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import faiss

    from sdtr.search.threads import search_threads
    args.threads = search_threads(args.threads)
    faiss.omp_set_num_threads(args.threads)  # plain FAISS: the same
    root = args.work_dir or tempfile.mkdtemp(prefix='sdtr-bench-index-')
    os.makedirs(root, exist_ok=True)
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    print(f'gallery {args.num} x {args.dim}, top-{args.topk}, '
          f'{args.threads} threads ({"CPU" if args.threads == 1 else "wall"}'
          f' times), {os.cpu_count()} CPUs, load average {load:.1f}; '
          'x = sdtr / plain FAISS')
    print(_header(args), flush=True)
    rows = []
    try:
        for data in args.data:
            rows += run_data(data, args, root)
    finally:
        if not args.work_dir and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(num=args.num, dim=args.dim, topk=args.topk,
                           threads=args.threads, rows=rows), f, indent=1)
    return rows


if __name__ == '__main__':
    main()
