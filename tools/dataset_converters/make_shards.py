"""Write webdataset-layout tar shards from any sdtr caption dataset.

Every (image, caption) pair of the chosen split becomes one sample
``<key>.<ext>`` (original image bytes) + ``<key>.txt`` + ``<key>.json``
(``img_name``, ``scene``, ``image_id``); ``shards.json`` indexes the shards
for :class:`sdtr.datasets.WebDatasetCaptionDataset`.

Examples::

    # the embedded synthetic remote-sensing captions (train split)
    python tools/dataset_converters/make_shards.py --synthetic rs \\
        --out data/synthetic_shards --maxcount 200
    # any dataset of a config (its train_dataloader.dataset), e.g. RET-3
    python tools/dataset_converters/make_shards.py \\
        configs/_base_/datasets/ret3.py --split train --out data/ret3_shards
    # index existing shards (e.g. RS5M's) so they can be split exactly
    python tools/dataset_converters/make_shards.py --index data/rs5m
"""
import argparse
import sys

from mmengine.config import Config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?',
                        help='config whose <dataloader>.dataset is written')
    parser.add_argument('--synthetic', choices=['rs'],
                        help='use the embedded synthetic RS captions')
    parser.add_argument('--synthetic-num-train', type=int, default=480)
    parser.add_argument('--dataloader', default='train_dataloader',
                        help='dataloader key of the config')
    parser.add_argument('--split', default='train')
    parser.add_argument('--out', help='output folder')
    parser.add_argument('--prefix', default='shard')
    parser.add_argument('--maxcount', type=int, default=1000,
                        help='samples per shard')
    parser.add_argument('--max-captions-per-image', type=int)
    parser.add_argument('--index', metavar='DIR',
                        help='only write DIR/shards.json for existing shards')
    parser.add_argument('--pattern', default='*.tar',
                        help='shard file pattern with --index')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from sdtr.datasets.shard_utils import index_shards, write_caption_shards
    from sdtr.registry import DATASETS
    from sdtr.utils import register_all_modules
    register_all_modules()
    if args.index:
        path = index_shards(args.index, args.pattern)
        print(f'wrote {path}')
        return 0
    if args.out is None:
        raise SystemExit('--out is required')
    if args.synthetic == 'rs':
        ds_cfg = dict(type='SyntheticRSCaptionDataset', format='karpathy',
                      num_train=args.synthetic_num_train)
    elif args.config:
        cfg = Config.fromfile(args.config)
        if args.dataloader not in cfg:
            raise SystemExit(f'{args.config} has no {args.dataloader}')
        ds_cfg = cfg[args.dataloader]['dataset'].to_dict()
    else:
        raise SystemExit('give a config or --synthetic rs')
    ds_cfg.update(split=args.split, test_mode=False, pipeline=[])
    dataset = DATASETS.build(ds_cfg)
    if not hasattr(dataset, 'image_records'):
        raise SystemExit(f'{type(dataset).__name__} is not an sdtr caption '
                         'dataset (BaseRetrievalDataset)')
    result = write_caption_shards(
        dataset, args.out, prefix=args.prefix, maxcount=args.maxcount,
        max_captions_per_image=args.max_captions_per_image)
    print(f"wrote {result['num_samples']} samples in {result['num_shards']} "
          f"shards; index {result['index']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
