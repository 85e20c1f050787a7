"""Cost of the integrity check when loading a checkpoint.

Writes a ViT-B/16-sized checkpoint (open_clip's ``ViT-B-16`` CLIP, random
weights, fp32: about 150M parameters, 600 MB) twice, sealed by
``sdtr.checkpoint.save_checkpoint`` and plain by ``torch.save``, then times,
interleaved and with a warm page cache:

* ``verified``: :func:`sdtr.checkpoint.open_checkpoint` of the sealed file
  (every record hashed with XXH3-128 while it is read, and checked);
* ``unverified``: the same reader on the plain file with hashing switched
  off (what loading costs without the check).

It prints the minimum and median wall-clock and CPU times of each, and the
cost of verification, ``verified / unverified - 1``: the median of the
ratios of the pairs run one after the other (robust to a machine whose
speed drifts), and the ratio of the minima.  The SHA-256 of a zoo download
(tampering) is a separate check, not timed here.

Example::

    python tools/analysis_tools/benchmark_checkpoint.py --repeats 7
"""
import argparse
import os
import os.path as osp
import statistics
import tempfile
import time
import types

import torch


class NullHash:
    """Stands in for XXH3-128: reads without hashing."""

    def __init__(self, data=b''):
        pass

    def update(self, data):
        pass

    def hexdigest(self):
        return '0' * 32


def make_files(folder, arch):
    import open_clip

    from sdtr.checkpoint import save_checkpoint
    torch.manual_seed(0)
    state = open_clip.create_model(arch).state_dict()
    params = sum(v.numel() for v in state.values())
    sealed = osp.join(folder, 'sealed.pth')
    plain = osp.join(folder, 'plain.pth')
    save_checkpoint(dict(state_dict=state), sealed)
    torch.save(dict(state_dict=state), plain)
    return sealed, plain, params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--arch', default='ViT-B-16',
                        help="open_clip architecture (default 'ViT-B-16')")
    parser.add_argument('--repeats', type=int, default=7)
    parser.add_argument('--work-dir', help='folder for the two files '
                        '(default: a temporary folder, removed)')
    args = parser.parse_args(argv)
    from sdtr.checkpoint import door, open_checkpoint, records
    door.print_log = lambda *args, **kwargs: None  # the "no digest" line
    with tempfile.TemporaryDirectory(dir=args.work_dir) as folder:
        sealed, plain, params = make_files(folder, args.arch)
        print(f'{args.arch}: {params / 1e6:.1f}M parameters, '
              f'{osp.getsize(sealed) / 1e6:.0f} MB; load average '
              f'{os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs')
        real = records.xxhash

        def unverified():
            records.xxhash = types.SimpleNamespace(xxh3_128=NullHash)
            try:
                return open_checkpoint(plain)
            finally:
                records.xxhash = real

        runs = dict(verified=lambda: open_checkpoint(sealed),
                    unverified=unverified)
        assert runs['verified']().sealed
        wall = {name: [] for name in runs}
        cpu = {name: [] for name in runs}
        for _ in range(args.repeats):
            for name, run in runs.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                run()
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
    for clock, times in (('wall', wall), ('cpu', cpu)):
        for name, values in times.items():
            print(f'{clock:>4} {name:>11}: min {min(values):.3f} s, median '
                  f'{statistics.median(values):.3f} s')
        v, u = times['verified'], times['unverified']
        pairs = statistics.median(a / b for a, b in zip(v, u))
        print(f'{clock:>4} verification cost: {100 * (pairs - 1):+.1f} % '
              f'(median of pairs), {100 * (min(v) / min(u) - 1):+.1f} % '
              '(minima) of the unverified load')
    print(f'load average at the end {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
