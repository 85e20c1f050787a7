"""``sdtr-make-synthetic``: generate the synthetic datasets from a shell."""
import argparse
import json
import os.path as osp
import sys
from typing import Optional, Sequence


def parse_args(argv: Optional[Sequence[str]] = None):
    p = argparse.ArgumentParser(
        prog='sdtr-make-synthetic',
        description='Generate the synthetic remote-sensing and/or person '
        'caption datasets (real annotation formats, real image files). '
        'Without --out-dir they go to $SDTR_CACHE/synthetic (default '
        '~/.cache/sdtr/synthetic), where the synthetic dataset types of the '
        'configs find them.')
    p.add_argument('kind', choices=['rs', 'person', 'scenes', 'all'],
                   help='which dataset to generate (scenes: folder-of-'
                   'classes scene classification data)')
    p.add_argument('--out-dir', help='target folder (with kind=all, '
                   'sub-folders rs/ and person/ are made)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--force', action='store_true',
                   help='regenerate even if a complete copy exists')
    g = p.add_argument_group('remote sensing')
    g.add_argument('--num-train', type=int, default=480)
    g.add_argument('--num-val', type=int, default=80)
    g.add_argument('--num-test', type=int, default=120)
    g.add_argument('--img-size', type=int, default=64)
    g.add_argument('--image-ext', choices=['png', 'jpg'], default='png')
    g.add_argument('--rs-formats', nargs='+',
                   default=['karpathy', 'galr', 'coco', 'pir'])
    g = p.add_argument_group('scenes (folder of classes)')
    g.add_argument('--train-per-class', type=int, default=24)
    g.add_argument('--test-per-class', type=int, default=8)
    g = p.add_argument_group('person')
    g.add_argument('--num-train-ids', type=int, default=64)
    g.add_argument('--num-val-ids', type=int, default=16)
    g.add_argument('--num-test-ids', type=int, default=32)
    g.add_argument('--images-per-id', type=int, default=4)
    g.add_argument('--person-size', type=int, nargs=2, default=[96, 32],
                   metavar=('H', 'W'))
    g.add_argument('--person-formats', nargs='+',
                   default=['cuhkpedes', 'icfgpedes', 'rstpreid'])
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``sdtr-make-synthetic`` and
    ``tools/dataset_converters/make_synthetic.py``."""
    from .person import make_synthetic_person
    from .rs import make_synthetic_rs
    from .scene_folders import make_synthetic_scene_folders
    args = parse_args(argv)
    out = {}

    def sub(name):
        if args.out_dir is None:
            return None
        return (osp.join(args.out_dir, name)
                if args.kind == 'all' else args.out_dir)

    if args.kind in ('rs', 'all'):
        out['rs'] = make_synthetic_rs(
            out_dir=sub('rs'), num_train=args.num_train,
            num_val=args.num_val, num_test=args.num_test,
            img_size=args.img_size, seed=args.seed,
            formats=args.rs_formats, image_ext=args.image_ext,
            force=args.force)
    if args.kind in ('person', 'all'):
        out['person'] = make_synthetic_person(
            out_dir=sub('person'), num_train_ids=args.num_train_ids,
            num_val_ids=args.num_val_ids, num_test_ids=args.num_test_ids,
            images_per_id=args.images_per_id, img_size=args.person_size,
            seed=args.seed, formats=args.person_formats, force=args.force)
    if args.kind in ('scenes', 'all'):
        out['scenes'] = make_synthetic_scene_folders(
            out_dir=sub('scenes'), train_per_class=args.train_per_class,
            test_per_class=args.test_per_class, img_size=args.img_size,
            seed=args.seed, force=args.force)
    for k, v in out.items():
        with open(osp.join(v, 'meta.json')) as f:
            counts = json.load(f).get('counts')
        print(f'{k}: {v}  {counts}')
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
