"""Start-up cost of the ``sdtr`` command: CPU time and imports.

Each command runs in a fresh interpreter (``python -X importtime -m sdtr
...``), ``--repeat`` times.  Printed per command: the median CPU time of the
process (user + system, from the operating system's accounting of the
finished child), the cumulative import time ``-X importtime`` reports for
all top-level modules, and whether torch, mmengine or cv2 were imported
(they must not be: the target is under 0.3 s of CPU).

Example::

    python tools/analysis_tools/benchmark_cli.py
    python tools/analysis_tools/benchmark_cli.py --repeat 5 --json
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys

COMMANDS = (
    ['--help'],
    ['train', '--help'],
    ['test', '--help'],
    ['search', '--help'],
    ['build-gallery', '--help'],
    ['serve', '--help'],
    ['list-models'],
)
HEAVY = ('torch', 'mmengine', 'cv2')
_LINE = re.compile(r'import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)')


def run_once(argv, repo):
    """(cpu seconds, top-level import microseconds, heavy modules)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (repo, env.get('PYTHONPATH')) if p)
    proc = subprocess.run(
        [sys.executable, '-X', 'importtime', '-m', 'sdtr', *argv],
        capture_output=True, text=True, env=env, cwd=repo)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f'sdtr {" ".join(argv)} failed:\n{proc.stderr}')
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime -
                                               before.ru_stime)
    total, heavy = 0, set()
    for line in proc.stderr.splitlines():
        match = _LINE.match(line)
        if not match:
            continue
        cumulative, indent, module = match.groups()
        if not indent:  # a top-level import: its cumulative time counts
            total += int(cumulative)
        if module.split('.')[0] in HEAVY:
            heavy.add(module.split('.')[0])
    return cpu, total, sorted(heavy)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--repeat', type=int, default=3,
                   help='runs per command (the median is printed)')
    p.add_argument('--json', action='store_true',
                   help='one JSON line instead of the table')
    args = p.parse_args(argv)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    rows = []
    for cmd in COMMANDS:
        runs = [run_once(cmd, repo) for _ in range(args.repeat)]
        rows.append(dict(
            command='sdtr ' + ' '.join(cmd),
            cpu_s=round(statistics.median(r[0] for r in runs), 3),
            imports_ms=round(statistics.median(r[1] for r in runs) / 1e3, 1),
            heavy_imports=runs[0][2]))
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
    if args.json:
        print(json.dumps(dict(rows=rows, load_average=load)))
        return 0
    print(f'{"command":<28} {"CPU s":>7} {"imports ms":>11}  heavy imports')
    for r in rows:
        print(f'{r["command"]:<28} {r["cpu_s"]:>7.3f} {r["imports_ms"]:>11.1f}'
              f'  {", ".join(r["heavy_imports"]) or "none"}')
    print(f'(median of {args.repeat} runs; load average {load:.2f})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
