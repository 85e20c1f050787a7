"""Benchmark the chunked exact retrieval metrics against the bare product.

Example::

    python tools/analysis_tools/benchmark_metrics.py --num-images 20000 \\
        --num-texts 100000 --dim 512 --metric rsitr

Prints ONE JSON line with

* ``metric_s``: wall time of ``rsitr_recall_from_features`` (images x
  captions) or ``person_search_metrics_from_features`` (captions as queries x
  images as gallery, the t2i protocol), everything included;
* ``matmul_chunked_s``: the bare product ``img @ txt.T`` computed in the
  *same* blocks into the same reused buffer, nothing else (``ratio`` is
  ``metric_s / matmul_chunked_s``);
* ``matmul_full_s``: one big ``img @ txt.T`` into a fresh
  ``[num_images, num_texts]`` tensor (skipped with ``--no-full-matmul`` or
  when it would not fit in memory), and ``ratio_vs_full``;
* ``peak_extra_mib``: peak resident memory of the process during the metric
  minus its resident memory just before (Linux ``VmHWM`` reset through
  ``/proc/self/clear_refs``; the method is named in ``mem_method``), and
  ``buffers_mib``: the work-buffer size implied by the block shape.

Features are random unit vectors (``--data random``, the worst case for
the person metric: about half the gallery scores above the lowest relevant
item) or clustered around one centre per image/identity (``--data
clustered``, ranks like a trained model's: person R@1 ~ 70 %).
"""
import argparse
import json
import os
import platform
import resource
import time

import torch

from sdtr.evaluation.functional import (person_search_metrics_from_features,
                                        rsitr_recall_from_features)
from sdtr.evaluation.functional._common import (PERSON_CPU_CHUNK,
                                                RSITR_CPU_CHUNK,
                                                resolve_chunk,
                                                work_cell_bytes)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--num-images', type=int, default=20000)
    p.add_argument('--num-texts', type=int, default=100000)
    p.add_argument('--dim', type=int, default=512)
    p.add_argument('--metric', choices=['rsitr', 'person'], default='rsitr')
    p.add_argument(
        '--chunk-size',
        type=int,
        nargs='+',
        default=None,
        help='block shape: ROWS [COLS] (default: the library default)')
    p.add_argument('--max-memory', type=int, default=None,
                   help='work-buffer byte budget (when no --chunk-size)')
    p.add_argument('--imgs-per-id', type=int, default=4,
                   help='person metric: gallery images per identity')
    p.add_argument('--device', default='cpu',
                   help='cpu or cuda (timings synchronise the device; the '
                   'dense product is the single fp32 matmul reference)')
    p.add_argument('--data', choices=['random', 'clustered'],
                   default='random')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--repeat', type=int, default=1,
                   help='alternate bare product / metric this many times '
                   'and report the fastest of each (robust to other '
                   'processes on a shared machine)')
    p.add_argument('--no-full-matmul', action='store_true',
                   help='do not time one big img @ txt.T')
    return p.parse_args()


def _status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


class PeakRSS:
    """Peak extra resident memory of a code section (Linux)."""

    def __enter__(self):
        self.method = 'VmHWM after /proc/self/clear_refs reset - VmRSS before'
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')
        except OSError:
            self.method = 'ru_maxrss delta (lower bound: only counts a new ' \
                          'process-wide peak)'
        self.before_rss = _status_kib('VmRSS')
        self.before_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return self

    def __exit__(self, *exc):
        if self.method.startswith('VmHWM'):
            self.extra_kib = _status_kib('VmHWM') - self.before_rss
        else:
            self.extra_kib = resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss - self.before_max
        return False


def make_data(args):
    g = torch.Generator().manual_seed(args.seed)
    n_i, n_t, d = args.num_images, args.num_texts, args.dim
    txt2img = torch.arange(n_t) * n_i // n_t  # captions spread evenly
    pids = torch.arange(n_i) // args.imgs_per_id
    if args.data == 'random':
        img = torch.randn(n_i, d, generator=g)
        txt = torch.randn(n_t, d, generator=g)
    else:
        # a centre per identity (person) or per image (rsitr), an image-
        # specific part partly seen by the captions, and caption noise;
        # gives person R@1 ~ 70 %, mAP ~ 33 % (like a trained model)
        groups = pids if args.metric == 'person' else torch.arange(n_i)
        centre = torch.randn(int(groups.max()) + 1, d, generator=g)[groups]
        own = torch.randn(n_i, d, generator=g)
        img = centre + own
        txt = centre[txt2img] + 0.7 * own[txt2img] + 6.0 * torch.randn(
            n_t, d, generator=g)
    img = torch.nn.functional.normalize(img, dim=1)
    txt = torch.nn.functional.normalize(txt, dim=1)
    return img, txt, txt2img, pids


def bare_chunked(a, b, rows, cols):
    """a @ b.T in the metric's blocks into one reused buffer."""
    buf = torch.empty(rows * cols, device=a.device)
    for r0 in range(0, a.shape[0], rows):
        r1 = min(r0 + rows, a.shape[0])
        x = a[r0:r1]
        for c0 in range(0, b.shape[0], cols):
            c1 = min(c0 + cols, b.shape[0])
            torch.mm(x, b[c0:c1].t(), out=buf[:(r1 - r0) *
                                              (c1 - c0)].view(r1 - r0,
                                                              c1 - c0))


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    img, txt, txt2img, pids = make_data(args)
    device = torch.device(args.device)
    img, txt = img.to(device), txt.to(device)

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
    chunk = None
    if args.chunk_size:
        chunk = tuple(args.chunk_size) if len(args.chunk_size) == 2 else \
            args.chunk_size[0]
    if args.metric == 'rsitr':
        rows_a, cols_b = img, txt
        run = lambda: rsitr_recall_from_features(  # noqa: E731
            img, txt, txt2img, chunk_size=chunk, max_memory=args.max_memory)
        shape = 'images x captions'
    else:
        rows_a, cols_b = txt, img
        run = lambda: person_search_metrics_from_features(  # noqa: E731
            txt, img, pids[txt2img], pids, chunk_size=chunk,
            max_memory=args.max_memory)
        shape = 'captions (queries) x images (gallery)'
    # work buffers: similarities + the indicator cells of one comparison
    # (rsitr: 1, person: 2 thresholds on a CPU, 8 on a GPU)
    slots = 1 if args.metric == 'rsitr' else (
        8 if device.type == 'cuda' else 2)
    cell = work_cell_bytes(device, slots)
    rows, cols = resolve_chunk(
        chunk, args.max_memory, rows_a.shape[0], cols_b.shape[0],
        rows_a.device, bytes_per_cell=cell,
        cpu_default=RSITR_CPU_CHUNK
        if args.metric == 'rsitr' else PERSON_CPU_CHUNK)

    # warm-up (thread pool, BLAS) on a small slice
    bare_chunked(rows_a[:rows], cols_b[:cols], rows, cols)

    load_before = os.getloadavg()[0]
    t_chunked = t_metric = float('inf')
    peak_kib = 0
    for _ in range(max(1, args.repeat)):
        sync()
        t0 = time.perf_counter()
        bare_chunked(rows_a, cols_b, rows, cols)
        sync()
        t_chunked = min(t_chunked, time.perf_counter() - t0)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            result = run()
            sync()
            t_metric = min(t_metric, time.perf_counter() - t0)
        peak_kib = max(peak_kib, mem.extra_kib)

    t_full = None
    full_mib = None
    need = rows_a.shape[0] * cols_b.shape[0] * 4
    avail = 0
    if device.type == 'cuda':
        avail = torch.cuda.mem_get_info(device)[0]
    else:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    avail = int(line.split()[1]) * 1024
    if not args.no_full_matmul and need < 0.7 * avail:
        with PeakRSS() as full_mem:
            sync()
            t0 = time.perf_counter()
            full = rows_a @ cols_b.t()
            sync()
            t_full = time.perf_counter() - t0
            del full
        full_mib = round(full_mem.extra_kib / 1024, 1)

    out = dict(
        metric=args.metric,
        data=args.data,
        product=shape,
        num_images=args.num_images,
        num_texts=args.num_texts,
        dim=args.dim,
        imgs_per_id=args.imgs_per_id if args.metric == 'person' else None,
        threads=args.threads,
        repeat=max(1, args.repeat),
        timing='min wall time over the repeats, perf_counter',
        loadavg_1min_before_after=[round(load_before, 2),
                                   round(os.getloadavg()[0], 2)],
        block=[rows, cols],
        metric_s=round(t_metric, 3),
        matmul_chunked_s=round(t_chunked, 3),
        ratio=round(t_metric / t_chunked, 3),
        matmul_full_s=None if t_full is None else round(t_full, 3),
        ratio_vs_full=None if t_full is None else round(t_metric / t_full, 3),
        matmul_full_peak_extra_mib=full_mib,
        peak_extra_mib=round(peak_kib / 1024, 1),
        buffers_mib=round(cell * rows * cols / 2**20, 1),
        mem_method=mem.method,
        result={k: round(v, 4)
                for k, v in result.items()},
        torch=torch.__version__,
        cpu=platform.processor() or platform.machine(),
        cpus=os.cpu_count())
    print(json.dumps(out))


if __name__ == '__main__':
    main()
