"""Check every split of a dataset config: annotations, counts and images.

Usage::

    python tools/misc/verify_dataset.py CONFIG [--split train val test]
        [--annotations-only] [--out bad_images.txt] [--workers 4]
        [--cfg-options k=v ...]

For each ``<split>_dataloader.dataset`` of the config:

1. the dataset is built as the config builds it (without its pipeline and
   without the image-existence check); an annotation problem that would
   stop training or testing is reported as an error;
2. it is built again with ``skip_bad_samples=True`` in train mode, so that
   *every* bad entry is listed instead of the first one, and the image and
   caption counts are printed.  Images whose captions are all empty are
   listed too: every split skips them (a note, not an error);
3. every image file is decoded (unless ``--annotations-only``) and the
   missing or unreadable ones are listed (``--out`` writes their paths).

Exit code 0 when everything is usable, 1 when some image is missing or
unreadable, 2 when an annotation problem stops the config's dataset.
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
    p.add_argument('--annotations-only', action='store_true',
                   help='check annotations and counts, do not read images')
    p.add_argument('--out', help='write the bad image paths to this file')
    p.add_argument('--workers', type=int, default=4,
                   help='decoding threads')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config entries, key=value')
    return p.parse_args(argv)


def _relax(cfg, listing):
    """The dataset config without pipeline, image-existence check and
    duplicate hashing; with ``listing`` also skipping (and recording) every
    bad entry instead of raising."""
    cfg = copy.deepcopy(cfg)
    cfg['pipeline'] = []
    cfg['check_images'] = False
    if listing:
        cfg['skip_bad_samples'] = True
        cfg['test_mode'] = False
    if cfg.get('type') == 'RetrievalConcatDataset':
        cfg['dedupe'] = None
        cfg['exclude'] = []
        cfg['datasets'] = [_relax(d, listing) for d in cfg['datasets']]
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


def verify_split(cfg, split, workers=4, decode=True):
    """Check one split.

    Returns:
        dict | None: None without a ``<split>_dataloader``, else
        ``dataset`` (the listing build, or None when even it fails),
        ``error`` (the annotation error that stops the config's dataset, or
        None), ``bad`` (``(path, reason)`` of unreadable images) and
        ``skipped`` (skip records of the listing build).
    """
    from sdtr.datasets.errors import BadSampleError
    from sdtr.registry import DATASETS
    dl = cfg.get(f'{split}_dataloader')
    if not dl:
        return None
    error = None
    try:
        DATASETS.build(_relax(dl['dataset'], listing=False))
    except BadSampleError as err:
        error = err
    try:
        ds = DATASETS.build(_relax(dl['dataset'], listing=True))
    except BadSampleError as err:
        return dict(dataset=None, error=error or err, bad=[], skipped=[])
    bad = []
    if decode:
        from sdtr.utils.progress import Progress
        paths = ds.img_paths
        with ThreadPoolExecutor(max(1, workers)) as pool, \
                Progress(len(paths), f'[{split}] decoding',
                         unit='image') as bar:
            for r in pool.map(_check, paths):
                bar.update()
                if r is not None:
                    bad.append(r)
    return dict(dataset=ds, error=error, bad=bad,
                skipped=list(ds.skipped_samples))


def main(argv=None):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import sdtr.datasets  # noqa: F401
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'sdtr'))
    all_bad, status = [], 0
    for split in args.split:
        res = verify_split(cfg, split, args.workers,
                           decode=not args.annotations_only)
        if res is None:
            print(f'[{split}] no {split}_dataloader in the config '
                  '(e.g. ICFG-PEDES has no val split); skipped')
            continue
        ds = res['dataset']
        if res['error'] is not None:
            print(f'[{split}] annotation error: {res["error"]}')
            status = 2
        if ds is None:
            continue
        print(f'[{split}] {type(ds).__name__}: {ds.num_images} images, '
              f'{ds.num_texts} captions')
        captionless = [s for s in res['skipped']
                       if s.get('kind') == 'no_caption']
        others = [s for s in res['skipped'] if s.get('kind') != 'no_caption']
        if captionless:
            print(f'[{split}] {len(captionless)} images without any caption '
                  '(skipped in every split):')
            for s in captionless:
                print(f"  NOTE {s['file']} [{s['entry']}]")
        if others:
            print(f'[{split}] {len(others)} bad annotation entries '
                  '(skipped only by a train split with '
                  'skip_bad_samples=True):')
            for s in others:
                print(f"  SKIP {s['file']} [{s['entry']}]: {s['reason']}")
        if not args.annotations_only:
            print(f'[{split}] {ds.num_images} images checked, '
                  f'{len(res["bad"])} unreadable')
            for path, reason in res['bad']:
                print(f'  BAD  {path}: {reason}')
            all_bad.extend(p for p, _ in res['bad'])
    if args.out:
        with open(args.out, 'w') as f:
            f.write(''.join(p + '\n' for p in all_bad))
    if all_bad and status == 0:
        status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
