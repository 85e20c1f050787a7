"""Decode every image of a dataset split and list the unreadable ones.

Usage::

    python tools/misc/verify_dataset.py CONFIG [--split train val test]
        [--out bad_images.txt] [--workers 4] [--cfg-options k=v ...]

Builds ``<split>_dataloader.dataset`` of the config without its pipeline,
without the image-existence check and without duplicate hashing, so that
every problem is listed instead of stopping at the first one: annotation
errors, missing files and files that cannot be decoded (corrupt or
unsupported).  Exit code 0 when everything is readable, 1 when some image is
bad, 2 when the annotation itself cannot be parsed.
"""
import argparse
import copy
import sys
from concurrent.futures import ThreadPoolExecutor


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='config file')
    p.add_argument('--split', nargs='+', default=['train', 'val', 'test'],
                   choices=['train', 'val', 'test'],
                   help='dataloaders to check (default: all three)')
    p.add_argument('--out', help='write the bad image paths to this file')
    p.add_argument('--workers', type=int, default=4,
                   help='decoding threads')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, key=value')
    return p.parse_args(argv)


def _relax(cfg):
    """Dataset config that lists problems instead of raising on them."""
    cfg = copy.deepcopy(cfg)
    cfg['pipeline'] = []
    cfg['check_images'] = False
    if cfg.get('type') == 'RetrievalConcatDataset':
        cfg['dedupe'] = None
        cfg['exclude'] = []
        cfg['datasets'] = [_relax(d) for d in cfg['datasets']]
    return cfg


def _check(path):
    from sdtr.datasets.errors import BadSampleError
    from sdtr.datasets.utils import read_image
    try:
        read_image(path)
    except BadSampleError as err:
        return path, err.reason
    except Exception as err:  # noqa: BLE001
        return path, f'{type(err).__name__}: {err}'
    return None


def verify_split(cfg, split, workers=4):
    """Return ``(n_images, bad_images, skipped_entries)``; raise on
    annotation errors."""
    from sdtr.registry import DATASETS
    dl = cfg.get(f'{split}_dataloader')
    if not dl:
        return None
    from sdtr.utils.progress import Progress
    ds = DATASETS.build(_relax(dl['dataset']))
    paths = ds.img_paths
    bad = []
    with ThreadPoolExecutor(max(1, workers)) as pool, \
            Progress(len(paths), f'[{split}] decoding', unit='image') as bar:
        for r in pool.map(_check, paths):
            bar.update()
            if r is not None:
                bad.append(r)
    return len(paths), bad, list(ds.skipped_samples)


def main(argv=None):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import sdtr.datasets  # noqa: F401
    from sdtr.datasets.errors import BadSampleError
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'sdtr'))
    all_bad, status = [], 0
    for split in args.split:
        try:
            res = verify_split(cfg, split, args.workers)
        except BadSampleError as err:
            print(f'[{split}] annotation error: {err}')
            status = 2
            continue
        if res is None:
            print(f'[{split}] no {split}_dataloader in the config '
                  '(e.g. ICFG-PEDES has no val split); skipped')
            continue
        n, bad, skipped = res
        print(f'[{split}] {n} images checked, {len(bad)} unreadable')
        for path, reason in bad:
            print(f'  BAD  {path}: {reason}')
        if skipped:
            print(f'[{split}] {len(skipped)} annotation entries skipped '
                  '(skip_bad_samples=True):')
            for s in skipped:
                print(f"  SKIP {s['file']} [{s['entry']}]: {s['reason']}")
        all_bad.extend(p for p, _ in bad)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(''.join(p + '\n' for p in all_bad))
    if all_bad and status == 0:
        status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
