"""Embed an image folder, a dataset split or a caption file into an index.

``tools/build_gallery.py`` and ``sdtr build-gallery`` run :func:`main`, a
thin layer over :func:`sdtr.search.builder.run`.

The gallery is cut into shards of ``--shard-size`` items.  Every shard is
embedded (images through the model's test pipeline in ``--workers``
DataLoader processes) and written to ``OUT.partial/shard-NNNNN.safetensors``
with the fingerprint of the model; then the shards are merged, in order,
into the index folder ``OUT`` (:mod:`sdtr.search.index`) and the partial
folder is removed.  Interrupted (Ctrl-C, a killed job), the same command
skips the shards already written and goes on.  Under ``torchrun`` every
rank embeds the shards ``rank, rank + world, ...`` on its own GPU and rank 0
merges them once all are written.

Examples::

    # the test images of a config's dataset -> exact index
    python tools/build_gallery.py CONFIG CKPT --split test --out gallery_idx
    # an image folder, 4 loader workers, IVF-PQ for a large archive
    python tools/build_gallery.py CONFIG CKPT --images /data/tiles \\
        --out tiles_idx --index-type ivfpq --workers 4 --device cuda
    # 8 GPUs
    torchrun --nproc_per_node 8 tools/build_gallery.py CONFIG CKPT \\
        --images /data/tiles --out tiles_idx --device cuda
    # captions (for image -> text search): a file, or a split's captions
    python tools/build_gallery.py CONFIG CKPT --captions caps.txt \\
        --out caps_idx
    python tools/build_gallery.py CONFIG CKPT --split test --kind text \\
        --out caps_idx
    # new images into an existing index (only those not in it yet)
    python tools/build_gallery.py CONFIG CKPT --images /data/tiles \\
        --out tiles_idx --add
"""
import argparse
import sys


def parse_args(argv=None):
    from sdtr.cli import DictAction  # mmengine's, imported when used
    p = argparse.ArgumentParser(
        description='Embed an image folder, a dataset split or captions '
        'into a search index (sharded, resumable, multi-GPU with torchrun).',
        epilog=__doc__[__doc__.index('Examples::'):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='config file or model-zoo name')
    p.add_argument('checkpoint', help='sdtr checkpoint (path or URL); '
                   '"none" for the weights the model is built with')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--images', help='image folder (searched recursively)')
    src.add_argument('--split', choices=['train', 'val', 'test'],
                     help="the images (or --kind text: captions) of the "
                     "config's <split>_dataloader dataset")
    src.add_argument('--captions', help='text file, one caption per line')
    p.add_argument('--kind', choices=['image', 'text'],
                   help='gallery kind (default: text for --captions, else '
                   'image)')
    p.add_argument('--out', required=True, help='index folder to write')
    p.add_argument('--index-type', choices=['flat', 'ivfpq', 'hnsw'],
                   default='flat', help='flat: exact (default); ivfpq / '
                   'hnsw: approximate (see the README for which to pick)')
    p.add_argument('--dtype', choices=['float32', 'float16'],
                   default='float32', help='stored vectors (flat only)')
    p.add_argument('--nlist', type=int, help='IVF-PQ cells')
    p.add_argument('--m', type=int, help='IVF-PQ bytes per vector')
    p.add_argument('--nbits', type=int, help='IVF-PQ bits per code')
    p.add_argument('--nprobe', type=int, help='IVF-PQ cells per query')
    p.add_argument('--rerank', type=int, help='IVF-PQ exact re-scoring '
                   'factor (1: off)')
    p.add_argument('--M', type=int, dest='hnsw_m', help='HNSW links')
    p.add_argument('--ef-construction', type=int)
    p.add_argument('--ef-search', type=int)
    p.add_argument('--train-size', type=int,
                   help='IVF-PQ training vectors (default 64 x nlist)')
    p.add_argument('--shard-size', type=int, default=10000,
                   help='items per shard (the unit of resuming)')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--workers', type=int, default=2,
                   help='DataLoader processes decoding images')
    p.add_argument('--device', default='cpu',
                   help="'cpu' or 'cuda' (under torchrun: the local GPU)")
    p.add_argument('--add', action='store_true',
                   help='extend the existing index OUT with the items it '
                   'does not hold yet')
    p.add_argument('--overwrite', action='store_true',
                   help='replace an existing index OUT')
    p.add_argument('--restart', action='store_true',
                   help='discard the shards of an interrupted build')
    p.add_argument('--keep-shards', action='store_true',
                   help='keep OUT.partial/ after merging')
    p.add_argument('--skip-bad', action='store_true',
                   help='leave out images that cannot be read (listed in '
                   'the log and in the index metadata) instead of stopping')
    p.add_argument('--cfg-options', nargs='+', action=DictAction,
                   help='override config settings, key=value')
    args = p.parse_args(argv)
    if args.shard_size < 1 or args.batch_size < 1 or args.workers < 0:
        p.error('--shard-size and --batch-size must be >= 1, --workers >= 0')
    if args.kind is None:
        args.kind = 'text' if args.captions else 'image'
    if args.captions and args.kind != 'text':
        p.error('--captions builds a text gallery (--kind text)')
    if args.images and args.kind != 'image':
        p.error('--images builds an image gallery (--kind image)')
    if args.add and args.overwrite:
        p.error('--add and --overwrite exclude each other')
    return args


def main(argv=None):
    args = parse_args(argv)  # before any heavy import: --help stays instant
    from sdtr.search.builder import run
    return run(args)


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
