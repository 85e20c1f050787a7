"""Reproduce a whole paper table: train, test, compare with the paper.

``sdtr reproduce pir:table2`` lists the configs of the rows of PIR's Table
II, trains each one (locally, with torchrun ``--gpus N``, or through
``tools/slurm_train.sh`` with ``--slurm PARTITION``), tests it on each
dataset the table reports, collects the test metrics from the work dirs and
writes the paper-vs-measured table (markdown and CSV, the difference in every
cell) and a plot of the differences (PNG).

The tables are not defined here: they are read from the model zoo, the
``Results`` of every ``configs/*/metafile.yml`` whose ``Source`` is
``paper-reported, <PAPER> Table(s) <ids>`` (``PIR Tables II (CLIP-FT) and
III`` puts the row in ``pir:table2`` and ``pir:table3``).  A result measured
with another test config than the training config (PIR-CLIP's RET-2/3 rows
on RSICD) names it in ``Test Config``.  Test-only rows (zero-shot CLIP: the
config has no ``train_cfg``) convert the config's ``model.pretrained``
checkpoint with ``tools/model_converters/openclip_to_sdtr.py`` instead of
training.

Runs resume where they stopped: a row whose test metrics file
(``<work-root>/<config name>/test_<dataset>.json``) exists is not run again;
a training run whose final checkpoint exists is not repeated; an
interrupted one continues with ``--resume``.  So the same command finishes a
table after a crash or a preemption.

Examples::

    sdtr reproduce --list
    sdtr reproduce --dry-run                      # the commands of every table
    sdtr reproduce pir:table2 --gpus 8 --work-root work_dirs/reproduce
    sdtr reproduce eklsr:table5 --slurm gpu       # tools/slurm_train.sh
    sdtr reproduce vfe_tps:table1 --collect-only  # tables from finished runs

docs/reproduction.md#one-command-per-table describes the outputs.
"""
import argparse
import csv
import functools
import glob
import json
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

ROMAN = {'I': 1, 'II': 2, 'III': 3, 'IV': 4, 'V': 5, 'VI': 6, 'VII': 7,
         'VIII': 8, 'IX': 9, 'X': 10}
#: ``paper-reported, <PAPER> Table(s) <list>`` -> paper, list
SOURCE = re.compile(r'^paper-reported,\s*(?P<paper>[A-Za-z][\w-]*)\s+'
                    r'Tables?\s+(?P<tables>.+)$')
TABLE_ID = re.compile(r'^(?P<id>[IVX]+|\d+)\b\s*(?P<label>\(.*?\))?')


@dataclass
class Row:
    """One paper-reported result: a cell row of a paper table."""
    table: str  # 'pir:table2'
    model: str
    config: str  # absolute path
    dataset: str
    paper: Dict[str, float]
    label: str = ''
    test_config: Optional[str] = None  # absolute path; None = config
    measured: Dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return osp.splitext(osp.basename(self.config))[0]


def parse_source(source: str) -> List[tuple]:
    """``(table key, label)`` of every table a ``Source`` names.

    ``'paper-reported, PIR Tables II (CLIP-FT) and III (CLIP-baseline)'``
    -> ``[('pir:table2', 'CLIP-FT'), ('pir:table3', 'CLIP-baseline')]``;
    sources that are not paper-reported tables give ``[]``.
    """
    m = SOURCE.match(str(source).strip())
    if not m:
        return []
    paper = m.group('paper').lower().replace('-', '_')
    out = []
    # split "I, III (x, y), IV and V" at the separators outside parentheses
    parts, depth, cur = [], 0, ''
    for ch in m.group('tables'):
        depth += (ch == '(') - (ch == ')')
        cur += ch
        if depth == 0 and (cur.endswith(',') or cur.endswith(' and ')):
            parts.append(cur.rstrip(',').rsplit(' and ', 1)[0])
            cur = ''
    parts.append(cur)
    for part in parts:
        t = TABLE_ID.match(part.strip())
        if not t:
            raise ValueError(f'cannot read the table list of {source!r} '
                             f'(at {part.strip()!r})')
        ident = t.group('id')
        num = ROMAN[ident] if ident in ROMAN else int(ident)
        label = (t.group('label') or '').strip('()')
        out.append((f'{paper}:table{num}', label))
    return out


def load_tables(index: Optional[str] = None) -> 'OrderedDict[str, List[Row]]':
    """Every paper table of the zoo, ``{key: [Row, ...]}`` in zoo order."""
    from sdtr.apis.model_zoo import find_model_index, load_model_index
    root = osp.dirname(find_model_index(index))
    tables: 'OrderedDict[str, List[Row]]' = OrderedDict()
    for info in load_model_index(index).values():
        for res in info.results:
            for key, label in parse_source(res.get('Source', '')):
                test_cfg = res.get('Test Config')
                tables.setdefault(key, []).append(Row(
                    table=key, model=info.name, config=info.config,
                    dataset=str(res['Dataset']), label=label,
                    paper={str(k): float(v)
                           for k, v in res['Metrics'].items()},
                    test_config=osp.normpath(osp.join(root, test_cfg))
                    if test_cfg else None))
    return OrderedDict(sorted(tables.items(), key=lambda kv: _order(kv[0])))


def _order(key: str):
    paper, table = key.split(':')
    return paper, int(table[len('table'):])


# ------------------------------------------------------------------ runs
@dataclass
class Step:
    """A command of a row and the file whose existence means it is done."""
    what: str
    cmd: List[str]
    done: Optional[str] = None
    env: Dict[str, str] = field(default_factory=dict)

    def shell(self) -> str:
        env = ' '.join(f'{k}={v}' for k, v in self.env.items())
        return (env + ' ' if env else '') + ' '.join(
            shlex.quote(c) for c in self.cmd)


def _tool(name: str) -> str:
    from sdtr.cli import find_tool
    return find_tool(name)


def _slug(dataset: str) -> str:
    return re.sub(r'[^a-z0-9]+', '-', dataset.lower()).strip('-')


def metrics_file(work_dir: str, row: Row) -> str:
    return osp.join(work_dir, f'test_{_slug(row.dataset)}.json')


def trained(cfg, work_dir: str) -> Optional[str]:
    """The final checkpoint of a finished training run (None before)."""
    last = f'epoch_{cfg.train_cfg.max_epochs}.pth'
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            if osp.basename(f.read().strip()) == last:
                return osp.join(work_dir, last)
    path = osp.join(work_dir, last)
    return path if osp.isfile(path) else None


def final_checkpoint(cfg, work_dir: str) -> Optional[str]:
    """The checkpoint the test reads once training has finished: the best
    one when the config selects on val, else the last epoch's."""
    if trained(cfg, work_dir) is None:
        return None
    if cfg.default_hooks.get('checkpoint', {}).get('save_best'):
        best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')))
        return best[-1] if best else None
    return trained(cfg, work_dir)


@functools.lru_cache(maxsize=None)
def _config(path: str):
    from mmengine.config import Config
    return Config.fromfile(path)


def plan_row(row: Row, work_root: str, gpus: int = 1,
             slurm: Optional[str] = None,
             cfg_options: Sequence[str] = ()) -> List[Step]:
    """The commands that train (or convert) and test one row."""
    cfg = _config(row.config)
    work_dir = osp.join(work_root, row.name)
    opts = ['--cfg-options', *cfg_options] if cfg_options else []
    py = sys.executable
    steps = []
    test_only = cfg.get('train_cfg') is None
    if test_only:
        ckpt = osp.join(work_dir, 'init.pth')
        pretrained = cfg.model.get('pretrained') or {}
        source = pretrained.get('checkpoint') if isinstance(
            pretrained, dict) else pretrained
        if not source:
            raise ValueError(f'{row.config}: a test-only config needs '
                             'model.pretrained.checkpoint (the weights it '
                             'evaluates)')
        steps.append(Step('convert', [
            py, _tool('model_converters/openclip_to_sdtr'), row.config,
            str(source), ckpt, *opts], done=ckpt))
    else:
        selects = cfg.default_hooks.get('checkpoint', {}).get('save_best')
        ckpt = final_checkpoint(cfg, work_dir) or osp.join(
            work_dir, 'best_*.pth' if selects else
            f'epoch_{cfg.train_cfg.max_epochs}.pth')
        resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
        extra = ['--resume'] if resume else []
        if slurm:
            cmd = ['bash', osp.join(osp.dirname(_tool('train')),
                                    'slurm_train.sh'), slurm, row.name,
                   row.config, work_dir, *extra, *opts]
            env = dict(GPUS=str(gpus), GPUS_PER_NODE=str(min(gpus, 8)))
        elif gpus > 1:
            cmd = ['torchrun', f'--nproc_per_node={gpus}', _tool('train'),
                   row.config, '--work-dir', work_dir, '--launcher',
                   'pytorch', *extra, *opts]
            env = {}
        else:
            cmd = [py, _tool('train'), row.config, '--work-dir', work_dir,
                   *extra, *opts]
            env = {}
        steps.append(Step('train', cmd, env=env,
                          done=trained(cfg, work_dir)))
    out = metrics_file(work_dir, row)
    test_cfg = row.test_config or row.config
    test_dir = osp.join(work_dir, f'test_{_slug(row.dataset)}')
    if slurm:
        cmd = ['bash', osp.join(osp.dirname(_tool('test')), 'slurm_test.sh'),
               slurm, row.name, test_cfg, ckpt, '--work-dir', test_dir,
               '--out', out, *opts]
        env = dict(GPUS='1', GPUS_PER_NODE='1')
    else:
        cmd = [py, _tool('test'), test_cfg, ckpt, '--work-dir', test_dir,
               '--out', out, *opts]
        env = {}
    steps.append(Step('test', cmd, env=env, done=out))
    return steps


def read_measured(row: Row, work_root: str) -> Dict[str, float]:
    """The row's metrics from its test file (``person/R@1`` -> ``R@1``)."""
    path = metrics_file(osp.join(work_root, row.name), row)
    if not osp.isfile(path):
        return {}
    with open(path) as f:
        flat = json.load(f)
    out = {}
    for key in row.paper:
        hits = [v for k, v in flat.items() if k.split('/')[-1] == key]
        if len(hits) > 1:
            raise ValueError(f'{path}: {len(hits)} metrics named {key!r}')
        if hits:
            out[key] = float(hits[0])
    return out


# --------------------------------------------------------------- outputs
def _fmt(x: Optional[float]) -> str:
    return '—' if x is None else f'{x:.2f}'


def write_outputs(key: str, rows: List[Row], out_dir: str) -> Dict[str, str]:
    """``<key>.md``, ``<key>.csv`` and ``<key>.png`` in ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.join(out_dir, key.replace(':', '_'))
    metrics = list(OrderedDict.fromkeys(k for r in rows for k in r.paper))
    lines = [f'# {key}: paper vs measured', '',
             'Each cell: paper / measured (measured − paper); — where the '
             'run has no number yet.', '',
             '| model | dataset | ' + ' | '.join(metrics) + ' |',
             '|---|---|' + '---|' * len(metrics)]
    records = []
    for r in rows:
        cells = []
        for m in metrics:
            p, q = r.paper.get(m), r.measured.get(m)
            d = None if p is None or q is None else q - p
            cells.append('' if p is None else
                         f'{_fmt(p)} / {_fmt(q)} ({"—" if d is None else f"{d:+.2f}"})')
            if p is not None:
                records.append(dict(table=key, model=r.model,
                                    label=r.label, dataset=r.dataset,
                                    metric=m, paper=p, measured=q,
                                    difference=d))
        name = r.model + (f' ({r.label})' if r.label else '')
        lines.append(f'| {name} | {r.dataset} | ' + ' | '.join(cells) + ' |')
    with open(stem + '.md', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(stem + '.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]) if records
                                else ['table'])
        writer.writeheader()
        for rec in records:
            writer.writerow({k: ('' if v is None else v)
                             for k, v in rec.items()})
    _plot(key, records, stem + '.png')
    return dict(md=stem + '.md', csv=stem + '.csv', png=stem + '.png')


def _plot(key: str, records: List[dict], path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    done = [r for r in records if r['difference'] is not None]
    labels = [f"{r['model']} {r['dataset']} {r['metric']}" for r in done]
    fig, ax = plt.subplots(figsize=(8, 0.25 * max(len(done), 4) + 1))
    ax.barh(range(len(done)), [r['difference'] for r in done],
            color=['tab:green' if r['difference'] >= 0 else 'tab:red'
                   for r in done])
    ax.set_yticks(range(len(done)))
    ax.set_yticklabels(labels, fontsize=6)
    ax.axvline(0, color='black', linewidth=0.8)
    ax.set_xlabel('measured − paper (points)')
    ax.set_title(f'{key}: difference to the paper' +
                 ('' if done else ' (no measured number yet)'))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ------------------------------------------------------------------ main
def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog='sdtr reproduce',
        description='Train and test every row of a paper table and compare '
        'with the paper (tables from the zoo metafiles).',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='examples:\n  sdtr reproduce --list\n  sdtr reproduce '
        '--dry-run\n  sdtr reproduce pir:table2 --gpus 8\n  sdtr reproduce '
        'eklsr:table5 --slurm PARTITION')
    p.add_argument('tables', nargs='*', metavar='TABLE',
                   help='paper tables, e.g. pir:table2 eklsr:table5 '
                   '(all with --dry-run)')
    p.add_argument('--list', action='store_true',
                   help='list the tables and their rows')
    p.add_argument('--dry-run', action='store_true',
                   help='print the commands, run nothing')
    p.add_argument('--collect-only', action='store_true',
                   help='run nothing; write the tables from the finished '
                   'runs')
    where = p.add_mutually_exclusive_group()
    where.add_argument('--gpus', type=int, default=1,
                       help='GPUs per run (torchrun when > 1)')
    where.add_argument('--slurm', metavar='PARTITION',
                       help='submit with tools/slurm_train.sh / '
                       'slurm_test.sh (GPUs: --gpus is then ignored; set '
                       'GPUS=N in the environment)')
    p.add_argument('--work-root', default='work_dirs/reproduce',
                   help='one work dir per config below it')
    p.add_argument('--out-dir', help='where the tables go (default '
                   '<work-root>/tables)')
    p.add_argument('--index', help='model-index.yml or a metafile (default: '
                   "the installed zoo's)")
    p.add_argument('--cfg-options', nargs='+', default=[],
                   help='passed to every train/test command')
    args = p.parse_args(argv)
    if not (args.list or args.tables or args.dry_run):
        p.error('name a table (sdtr reproduce --list shows them)')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    tables = load_tables(args.index)
    if args.list:
        for key, rows in tables.items():
            names = ', '.join(OrderedDict.fromkeys(r.name for r in rows))
            print(f'{key}: {len(rows)} rows ({names})')
        return 0
    unknown = [t for t in args.tables if t not in tables]
    if unknown:
        print(f'sdtr reproduce: unknown table(s) {unknown}; known: '
              f'{", ".join(tables)}', file=sys.stderr)
        return 2
    chosen = args.tables or list(tables)
    gpus = args.gpus if not args.slurm else int(os.environ.get('GPUS', 8))
    out_dir = args.out_dir or osp.join(args.work_root, 'tables')
    status = 0
    for key in chosen:
        rows = tables[key]
        print(f'== {key}: {len(rows)} rows')
        for row in rows:
            steps = plan_row(row, args.work_root, gpus, args.slurm,
                             args.cfg_options)
            for step in steps:
                if args.dry_run:
                    print(step.shell())
                    continue
                if args.collect_only:
                    continue
                if step.done and osp.exists(step.done):
                    print(f'[{row.name}] {step.what}: done ({step.done})')
                    continue
                print(f'[{row.name}] {step.what}: {step.shell()}',
                      flush=True)
                ret = subprocess.run(step.cmd,
                                     env=dict(os.environ, **step.env))
                if ret.returncode:
                    print(f'[{row.name}] {step.what} failed (exit '
                          f'{ret.returncode}); the table marks it —',
                          file=sys.stderr)
                    status = 1
                    break
                if step.what == 'train':  # the test reads its checkpoint
                    steps[-1] = plan_row(row, args.work_root, gpus,
                                         args.slurm, args.cfg_options)[-1]
        if args.dry_run:
            continue
        for row in rows:
            row.measured = read_measured(row, args.work_root)
        files = write_outputs(key, rows, out_dir)
        print(f'{key}: ' + ', '.join(files.values()))
    return status


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
