"""Re-derive the quickstart numbers that the READMEs state.

The README and ``configs/quickstart/README.md`` quote what the two quickstart
configs give with their default seed.  Those numbers live in ONE recorded
file, ``configs/quickstart/results.json``, written by this script from real
runs of ``tools/train.py`` and ``tools/test.py``; the README tables are
rendered from that file (between ``<!-- quickstart-numbers:NAME -->`` and
``<!-- /quickstart-numbers -->`` markers), together with the model
description read from the configs.  So a README number can only change by
re-running this script.

Usage::

    # train + test both quickstart configs (~5 min on 2 CPU cores), compare
    # with the recorded numbers; exit status 1 if anything differs
    python tools/misc/quickstart_numbers.py --run

    # the same, then record the new numbers and re-render the READMEs
    python tools/misc/quickstart_numbers.py --run --write

    # no training: check that the READMEs show the recorded numbers and the
    # configs' model description (what tests/test_tools/test_quickstart_numbers.py runs)
    python tools/misc/quickstart_numbers.py --check

    # the fast check (about a minute): recompute each run's fingerprint --
    # the losses of the first iterations and the val metrics after one
    # short epoch on a subset -- and compare it with the recorded one
    python tools/misc/quickstart_numbers.py --fingerprint

The fingerprint ties the recorded numbers to the code: any change to what
training computes (data, augmentation, seeding, model, loss, optimiser,
schedule) changes it, and the test suite recomputes it.  ``--run --write``
re-derives everything at once: the numbers, the fingerprints, the README
blocks, the zoo entries and ``model_zoo.md``.

Numbers are exactly reproducible on the same software stack (seeded,
deterministic synthetic data, ``OMP_NUM_THREADS`` fixed by this script);
another torch build, CPU or thread count may change the last digits, which
``--run`` and ``--fingerprint`` report (with the stack that recorded them).
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / 'configs/quickstart/results.json'
READMES = [REPO / 'README.md', REPO / 'configs/quickstart/README.md']
#: the model-zoo entries of the quickstart configs (their Metrics and Source)
METAFILE = REPO / 'configs/clip/metafile.yml'
THREADS = 2

#: the runs whose numbers the READMEs quote
#: (``fingerprint``: the subset of the fast check, in the dataset's
#: ``indices`` units -- images for the RS data (5 captions each: 5
#: iterations of 32), pairs for the person data (6 iterations))
RUNS = {
    'rs': dict(config='configs/quickstart/clip_tiny_1xb32_synthetic-rs.py',
               metric='rsitr/mR',
               fingerprint=dict(train_samples=32, val_samples=24)),
    'person': dict(
        config='configs/quickstart/clip_tiny_1xb32_synthetic-person.py',
        metric='person/R@1',
        fingerprint=dict(train_samples=96, val_samples=24)),
}
RS_KEYS = ['i2t_R@1', 'i2t_R@5', 'i2t_R@10', 't2i_R@1', 't2i_R@5',
           't2i_R@10', 'mR']
PERSON_KEYS = ['R@1', 'R@5', 'R@10', 'mAP', 'mINP']
#: the keys of a fingerprint's settings (the short run: the config's own
#: loaders, seed and schedule on the first train / val items, one epoch)
FINGERPRINT = ('train_samples', 'val_samples')
#: relative tolerance of the losses (float noise of another CPU), absolute
#: one of the metrics (they are recorded with 2 decimals)
LOSS_RTOL = 1e-4
METRIC_ATOL = 0.006
RERUN = 'python tools/misc/quickstart_numbers.py --run --write'


# ----------------------------------------------------------------- running
def _scalars(work_dir: Path) -> list:
    files = sorted(glob.glob(str(work_dir / '*/vis_data/scalars.json')))
    if not files:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    with open(files[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


def _env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS=str(THREADS),
                PYTHONPATH=str(REPO) + os.pathsep +
                os.environ.get('PYTHONPATH', ''))


def fingerprint_one(name: str, root: Path, settings: dict = None,
                    cfg_options=()) -> dict:
    """Train ``name``'s config for one epoch on its first
    ``train_samples`` items (its own loaders, seed and schedule) and
    validate on its first ``val_samples`` items; return the loss of every
    iteration and the val metrics.  ``settings`` default to the run's
    ``fingerprint``; ``cfg_options`` change the run (the test uses them to
    show that a change of training is caught)."""
    spec = RUNS[name]
    settings = dict(settings or spec['fingerprint'])
    work_dir = root / f'{name}_fingerprint'
    prefix = spec['metric'].split('/')[0] + '/'
    opts = [f'train_dataloader.dataset.indices={settings["train_samples"]}',
            f'val_dataloader.dataset.indices={settings["val_samples"]}',
            'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
            'default_hooks.logger.interval=1',
            'default_hooks.checkpoint.save_best=None',
            'default_hooks.checkpoint.save_last=False', *cfg_options]
    subprocess.run([sys.executable, 'tools/train.py', spec['config'],
                    '--work-dir', str(work_dir), '--cfg-options', *opts],
                   cwd=REPO, env=_env(), check=True,
                   stdout=subprocess.DEVNULL)
    rows = _scalars(work_dir)
    losses = [round(r['loss'], 6) for r in rows if 'loss' in r]
    val = [{k[len(prefix):]: round(v, 2) for k, v in r.items()
            if k.startswith(prefix)} for r in rows if spec['metric'] in r]
    if not losses or len(val) != 1:
        raise RuntimeError(f'{work_dir}: expected per-iteration losses and '
                           f'one validation, got {len(losses)} losses and '
                           f'{len(val)} validations')
    return dict(settings, losses=losses, val=val[0])


def compare_fingerprints(recorded: dict, now: dict) -> list:
    """Differences between two fingerprints (empty when they agree within
    :data:`LOSS_RTOL` / :data:`METRIC_ATOL`)."""
    diffs = []
    for key in FINGERPRINT:
        if recorded.get(key) != now.get(key):
            diffs.append(f'{key}: recorded {recorded.get(key)} vs now '
                         f'{now.get(key)}')
    a, b = recorded.get('losses', []), now.get('losses', [])
    if len(a) != len(b):
        diffs.append(f'{len(a)} recorded losses vs {len(b)} now')
    for i, (x, y) in enumerate(zip(a, b)):
        if abs(x - y) > LOSS_RTOL * max(abs(x), abs(y)):
            diffs.append(f'loss of iteration {i + 1}: recorded {x} vs now '
                         f'{y}')
    va, vb = recorded.get('val', {}), now.get('val', {})
    for k in sorted(set(va) | set(vb)):
        if k not in va or k not in vb or abs(va[k] - vb[k]) > METRIC_ATOL:
            diffs.append(f'val {k}: recorded {va.get(k)} vs now '
                         f'{vb.get(k)}')
    return diffs


def check_fingerprints(recorded: dict, root: Path) -> list:
    """Recompute every recorded run's fingerprint; the differences, each
    prefixed by its run, and the command that re-derives the numbers."""
    problems = []
    for name in RUNS:
        old = recorded['runs'].get(name, {}).get('fingerprint')
        if old is None:
            problems.append(f'{name}: no fingerprint recorded; run {RERUN}')
            continue
        settings = {k: old[k] for k in FINGERPRINT}
        diffs = compare_fingerprints(old, fingerprint_one(name, root,
                                                          settings))
        problems += [f'{name}: {d}' for d in diffs]
    if problems:
        problems.append(
            'training changed since the quickstart numbers were recorded '
            f'(torch {recorded.get("torch")}, {recorded.get("machine")}): '
            f're-derive them with `{RERUN}`')
    return problems


def _timed(cmd: list, env: dict) -> tuple:
    """Run ``cmd``; its wall time and the 1-minute load averages sampled
    every 15 s while it runs (the machine may be shared)."""
    loads = [os.getloadavg()[0]]
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL)
    while True:
        try:
            proc.wait(timeout=15)
            break
        except subprocess.TimeoutExpired:
            loads.append(os.getloadavg()[0])
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return time.time() - t0, loads


def run_one(name: str, root: Path) -> dict:
    """Train and test one quickstart config; return its numbers."""
    spec = RUNS[name]
    work_dir = root / name
    env = _env()
    train_s, loads = _timed([sys.executable, 'tools/train.py',
                             spec['config'], '--work-dir', str(work_dir)],
                            env)
    prefix = spec['metric'].split('/')[0] + '/'
    val = {}
    for row in _scalars(work_dir):
        if spec['metric'] in row:
            val[int(row['step'])] = {
                k[len(prefix):]: round(v, 2)
                for k, v in row.items() if k.startswith(prefix)}
    best = sorted(glob.glob(str(work_dir / 'best_*.pth')))
    if len(best) != 1:
        raise RuntimeError(f'expected one best_*.pth in {work_dir}, found '
                           f'{best}')
    best_epoch = int(re.search(r'epoch_(\d+)', best[0]).group(1))
    out = work_dir / 'test.json'
    subprocess.run([sys.executable, 'tools/test.py', spec['config'], best[0],
                    '--work-dir', str(work_dir / 'test'), '--out', str(out)],
                   cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    test = {k[len(prefix):]: round(v, 2)
            for k, v in json.loads(out.read_text()).items()
            if k.startswith(prefix)}
    return dict(config=spec['config'], select_on=spec['metric'],
                val={str(e): m for e, m in sorted(val.items())},
                best_epoch=best_epoch, test=test,
                train_wall_s=round(train_s),
                load_avg=round(sum(loads) / len(loads), 1),
                load_avg_max=round(max(loads), 1),
                fingerprint=fingerprint_one(name, root))


def run_all(root: Path) -> dict:
    import torch
    runs = {name: run_one(name, root) for name in RUNS}
    return dict(
        measured=datetime.date.today().isoformat(),
        machine=f'{os.cpu_count()} CPU cores, {platform.machine()}, '
        f'OMP_NUM_THREADS={THREADS}',
        torch=torch.__version__,
        runs=runs)


def compare(old: dict, new: dict) -> list:
    """Differences between two results files, ignoring wall times/dates."""
    diffs = []
    for name in RUNS:
        a, b = old['runs'].get(name, {}), new['runs'][name]
        for key in ('val', 'best_epoch', 'test'):
            if a.get(key) != b.get(key):
                diffs.append(f'{name}.{key}: recorded {a.get(key)} vs now '
                             f'{b.get(key)}')
        diffs += [f'{name}.fingerprint: {d}' for d in compare_fingerprints(
            a.get('fingerprint', {}), b.get('fingerprint', {}))]
    return diffs


# --------------------------------------------------------------- rendering
def model_description() -> dict:
    """Facts the READMEs state about the quickstart model and seed, read
    from the configs themselves."""
    from mmengine.config import Config
    facts = {}
    for name, spec in RUNS.items():
        cfg = Config.fromfile(str(REPO / spec['config']))
        img, txt = cfg.model['image_encoder'], cfg.model['text_encoder']
        facts[name] = dict(
            img_layers=img['layers'], img_width=img['width'],
            txt_layers=txt['layers'], txt_width=txt['width'],
            embed_dim=img['embed_dim'], seed=cfg.randomness['seed'],
            epochs=cfg.train_cfg['max_epochs'],
            val_interval=cfg.train_cfg.get('val_interval', 1),
            batch=cfg.train_dataloader['batch_size'])
    return facts


def _load(run: dict) -> str:
    if 'load_avg_max' in run:
        return (f'load average {run["load_avg"]} on average over the run '
                f'(peak {run["load_avg_max"]})')
    return f'load average {run["load_avg"]} at its start'


def _row(label, metrics, keys):
    return '| ' + label + ' | ' + ' | '.join(
        f'{metrics[k]:.2f}' for k in keys) + ' |'


def render(results: dict) -> dict:
    """Markdown blocks keyed by marker name."""
    facts = model_description()
    rs, person = results['runs']['rs'], results['runs']['person']
    f = facts['rs']
    head = (f'measured {results["measured"]}, {results["machine"]}, torch '
            f'{results["torch"]}')
    desc = (f'a tiny CLIP (random init; image ViT {f["img_layers"]} layers '
            f'of width {f["img_width"]}, text transformer '
            f'{f["txt_layers"]} layers of width {f["txt_width"]}, '
            f'{f["embed_dim"]}-d embedding), seed {f["seed"]}, '
            f'{f["epochs"]} epochs of batch {f["batch"]}, validated every '
            f'{f["val_interval"]} epochs')
    rs_val = rs['val'][str(rs['best_epoch'])]
    p_val = person['val'][str(person['best_epoch'])]
    blocks = {}
    blocks['model'] = f'The quickstart model is {desc}.'
    blocks['rs'] = '\n'.join([
        f'Remote sensing (`{Path(rs["config"]).name}`; {head}; '
        f'`tools/train.py` wall time {rs["train_wall_s"]} s, {_load(rs)}, '
        f'on a machine shared with other jobs):',
        '',
        '| split | i2t R@1 | i2t R@5 | i2t R@10 | t2i R@1 | t2i R@5 | '
        't2i R@10 | mR |',
        '|---|---|---|---|---|---|---|---|',
        _row(f'val, epoch {rs["best_epoch"]} = best', rs_val, RS_KEYS),
        _row('test (best checkpoint)', rs['test'], RS_KEYS),
        '',
        'Val mR over training: ' + ', '.join(
            f'{m["mR"]:.2f} (epoch {e})' for e, m in rs['val'].items()) +
        '.',
    ])
    blocks['person'] = '\n'.join([
        f'Person search (`{Path(person["config"]).name}`; wall time '
        f'{person["train_wall_s"]} s, {_load(person)}):',
        '',
        '| split | R@1 | R@5 | R@10 | mAP | mINP |',
        '|---|---|---|---|---|---|',
        _row(f'val, epoch {person["best_epoch"]} = best', p_val,
             PERSON_KEYS),
        _row('test (best checkpoint)', person['test'], PERSON_KEYS),
    ])
    blocks['summary'] = (
        f'val mR {rs_val["mR"]:.2f} at the best epoch '
        f'({rs["best_epoch"]}), test mR {rs["test"]["mR"]:.2f}; chance ≈ 4')
    return blocks


MARK = re.compile(r'(<!-- quickstart-numbers:(\w+) -->\n)(.*?)'
                  r'(<!-- /quickstart-numbers -->)', re.S)


def apply(text: str, blocks: dict) -> str:
    return MARK.sub(
        lambda m: m.group(1) + blocks[m.group(2)] + '\n' + m.group(4), text)


def metafile_entries(results: dict) -> dict:
    """``Metrics``/``Source`` lines of the quickstart zoo entries."""
    out = {}
    for name, run in results['runs'].items():
        keys = RS_KEYS if name == 'rs' else PERSON_KEYS
        metrics = ', '.join(f'{k}: {run["test"][k]:.2f}' for k in keys)
        out[Path(run['config']).stem] = (
            f'        Metrics: {{{metrics}}}',
            f"        Source: 'ours, tools/misc/quickstart_numbers.py: "
            f"tools/train.py (seed from the config, CPU), best val "
            f"checkpoint (epoch {run['best_epoch']}), tools/test.py on the "
            f"synthetic test split, one run, {results['measured']}'")
    return out


def apply_metafile(text: str, results: dict) -> str:
    lines = text.split('\n')
    for stem, (metrics, source) in metafile_entries(results).items():
        start = lines.index(f'  - Name: {stem}')
        end = next((i for i in range(start + 1, len(lines))
                    if lines[i].startswith('  - Name:')), len(lines))
        for i in range(start, end):
            if lines[i].startswith('        Metrics:'):
                lines[i] = metrics
            elif lines[i].startswith('        Source:'):
                lines[i] = source
    return '\n'.join(lines)


def check(results: dict) -> list:
    """README blocks (and zoo entries) that differ from the rendering of
    ``results``."""
    blocks = render(results)
    problems = []
    meta = METAFILE.read_text()
    if apply_metafile(meta, results) != meta:
        problems.append(f'{METAFILE}: the quickstart entries are stale; run '
                        'tools/misc/quickstart_numbers.py --write')
    for path in READMES:
        text = path.read_text()
        found = MARK.findall(text)
        if not found:
            problems.append(f'{path}: no quickstart-numbers block')
        for _, name, body, _ in found:
            if name not in blocks:
                problems.append(f'{path}: unknown block {name!r}')
            elif body != blocks[name] + '\n':
                problems.append(f'{path}: block {name!r} is stale; run '
                                'tools/misc/quickstart_numbers.py --write')
    return problems


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--run', action='store_true',
                   help='train + test the quickstart configs and compare '
                   'with the recorded numbers')
    p.add_argument('--write', action='store_true',
                   help='record the new numbers (with --run) and render them '
                   'into the READMEs')
    p.add_argument('--check', action='store_true',
                   help='check the READMEs against the recorded numbers')
    p.add_argument('--fingerprint', action='store_true',
                   help='recompute the fingerprint of each recorded run '
                   '(about a minute) and compare it with the recorded one')
    p.add_argument('--work-dir', help='where --run trains (default: a '
                   'temporary folder)')
    args = p.parse_args(argv)
    recorded = json.loads(RESULTS.read_text()) if RESULTS.exists() else None
    status = 0
    results = recorded
    if args.run:
        with tempfile.TemporaryDirectory() as tmp:
            results = run_all(Path(args.work_dir or tmp))
        print(json.dumps(results, indent=1))
        if recorded is not None:
            diffs = compare(recorded, results)
            for d in diffs:
                print('DIFFERS', d)
            if diffs and not args.write:
                status = 1
            if not diffs:
                print('the recorded quickstart numbers are reproduced')
    if args.write:
        if results is None:
            p.error(f'{RESULTS} does not exist: use --run --write')
        RESULTS.write_text(json.dumps(results, indent=1) + '\n')
        blocks = render(results)
        for path in READMES:
            path.write_text(apply(path.read_text(), blocks))
        METAFILE.write_text(apply_metafile(METAFILE.read_text(), results))
        zoo = subprocess.run([sys.executable, 'tools/misc/gen_model_zoo.py'],
                             cwd=REPO, env=_env())
        status = status or zoo.returncode
    if args.fingerprint:
        if recorded is None:
            p.error(f'{RESULTS} does not exist: use --run --write')
        with tempfile.TemporaryDirectory() as tmp:
            problems = check_fingerprints(recorded, Path(args.work_dir or tmp))
        for prob in problems:
            print(prob)
        if not problems:
            print('the recorded fingerprints are reproduced')
        status = status or int(bool(problems))
    if args.check or not (args.run or args.write or args.fingerprint):
        if results is None:
            p.error(f'{RESULTS} does not exist: use --run --write')
        problems = check(results)
        for prob in problems:
            print(prob)
        status = status or int(bool(problems))
    return status


if __name__ == '__main__':
    sys.exit(main())
