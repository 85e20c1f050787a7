"""Embed an image folder, a dataset split or a caption file into an index.

``tools/build_gallery.py`` and ``sdtr build-gallery`` run :func:`main`.

The gallery is cut into shards of ``--shard-size`` items.  Every shard is
embedded (images through the model's test pipeline in ``--workers``
DataLoader processes) and written to ``OUT.partial/shard-NNNNN.safetensors``
with the fingerprint of the model; then the shards are merged, in order,
into the index folder ``OUT`` (:mod:`sdtr.apis.index`) and the partial
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
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
import time
from typing import List

PLAN_FILE = 'plan.json'


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


# --------------------------------------------------------------- helpers
def dist_info():
    """``(rank, world_size, local_rank)`` from the torchrun / slurm
    environment (no process group is needed: ranks share only files)."""
    env = os.environ
    rank = int(env.get('RANK', env.get('SLURM_PROCID', 0)))
    world = int(env.get('WORLD_SIZE', env.get('SLURM_NTASKS', 1)))
    local = int(env.get('LOCAL_RANK', env.get('SLURM_LOCALID', 0)))
    return rank, world, local


def list_source(args, cfg) -> List[str]:
    """The gallery's items: image paths or captions, in a fixed order."""
    from sdtr.apis.inferencer import list_images
    if args.images:  # absolute: the index is usable from any folder
        return [osp.abspath(p) for p in list_images(args.images)]
    if args.captions:
        if not osp.isfile(args.captions):
            raise FileNotFoundError(f'caption file {args.captions!r} does '
                                    'not exist')
        with open(args.captions, encoding='utf-8') as f:
            items = [ln.strip() for ln in f if ln.strip()]
        if not items:
            raise ValueError(f'{args.captions!r} holds no caption')
        return items
    import copy

    from mmengine.registry import DefaultScope

    from sdtr.registry import DATASETS
    loader = cfg.get(f'{args.split}_dataloader')
    if not loader or not loader.get('dataset'):
        raise KeyError(f'config {args.config!r} has no {args.split}_'
                       'dataloader.dataset')
    ds_cfg = copy.deepcopy(loader['dataset'])
    ds_cfg['pipeline'] = []
    with DefaultScope.overwrite_default_scope('sdtr'):
        dataset = DATASETS.build(ds_cfg)
    items = list(map(osp.abspath, dataset.img_paths) if args.kind ==
                 'image' else dataset.captions)
    if not items:
        raise ValueError(f'the {args.split} split of {args.config!r} is '
                         'empty')
    return items


def items_digest(items) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(item.encode('utf-8') + b'\n')
    return h.hexdigest()


class _Images:
    """Map-style dataset: item i -> the test-pipeline output of image i."""

    def __init__(self, inferencer, paths, offset, skip_bad):
        self.inferencer, self.paths = inferencer, paths
        self.offset, self.skip_bad = offset, skip_bad

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        try:
            return dict(self.inferencer.prepare(self.paths[i],
                                                self.offset + i),
                        name=self.paths[i])
        except Exception as err:  # noqa: BLE001
            if not self.skip_bad:
                raise RuntimeError(
                    f'cannot read gallery image {self.paths[i]!r}: '
                    f'{type(err).__name__}: {err} (use --skip-bad to leave '
                    'unreadable images out)') from err
            return dict(bad=self.paths[i],
                        reason=f'{type(err).__name__}: {err}')


def _collate(batch):
    return batch


def shard_path(work: str, shard: int) -> str:
    return osp.join(work, f'shard-{shard:05d}.safetensors')


def shard_done(path: str, names: List[str], fingerprint: dict) -> bool:
    """Whether ``path`` is a complete shard of ``names`` by this model."""
    from sdtr.apis.fingerprint import fingerprint_mismatch
    from sdtr.apis.gallery import load_gallery
    if not osp.isfile(path):
        return False
    try:
        shard = load_gallery(path)
    except ValueError:
        return False
    bad = set(shard.info.get('bad', []))
    expected = [n for n in names if n not in bad]
    return shard.items == expected and fingerprint_mismatch(
        shard.fingerprint, fingerprint) is None


def embed_shard(inferencer, names, offset, args, progress):
    """-> (features [n, D] float32, kept names, bad [(name, reason)])."""
    import torch
    if args.kind == 'text':
        feats = []
        for start in range(0, len(names), args.batch_size):
            chunk = names[start:start + args.batch_size]
            feats.append(inferencer.encode_text(chunk))
            progress.update(len(chunk))
        return torch.cat(feats), list(names), []
    from torch.utils.data import DataLoader
    loader = DataLoader(_Images(inferencer, names, offset, args.skip_bad),
                        batch_size=args.batch_size, shuffle=False,
                        num_workers=args.workers, collate_fn=_collate,
                        persistent_workers=False)
    feats, kept, bad = [], [], []
    for batch in loader:
        good = [b for b in batch if 'bad' not in b]
        bad += [(b['bad'], b['reason']) for b in batch if 'bad' in b]
        if good:
            feats.append(inferencer.embed_prepared(good))
            kept += [b['name'] for b in good]
        progress.update(len(batch))
    dim = feats[0].shape[1] if feats else 0
    return (torch.cat(feats) if feats else torch.zeros(0, dim)), kept, bad


def _sample_rows(paths, size, seed=0):
    """A random subset of ``size`` rows over the shards, proportional to
    their sizes."""
    import numpy as np

    from sdtr.apis.gallery import load_gallery
    counts = [len(load_gallery(p)) for p in paths]
    total = sum(counts)
    rng = np.random.default_rng(seed)
    picks = []
    for path, n in zip(paths, counts):
        take = min(n, int(np.ceil(size * n / max(total, 1))))
        if take:
            feats = load_gallery(path).features.float().numpy()
            picks.append(feats[np.sort(rng.choice(n, take, replace=False))])
    return np.concatenate(picks) if picks else None


def merge(args, work, shards, kind, fingerprint, info):
    """Write (or extend, with ``--add``) the index ``args.out`` from the
    shard files, in order."""
    from mmengine.logging import print_log

    from sdtr.apis.gallery import load_gallery
    from sdtr.apis.index import SearchIndex, build_index, default_params

    def chunks():
        for path in shards:
            g = load_gallery(path)
            if len(g):
                yield g.features.float().numpy(), g.items

    total = sum(len(load_gallery(p)) for p in shards)
    start = time.perf_counter()
    if args.add:
        index = SearchIndex.open(args.out, mmap=False,
                                 expect_fingerprint=fingerprint, kind=kind)
        for feats, names in chunks():
            index.add(feats, names, flush=False)
        index.flush()
    else:
        params = {k: v for k, v in dict(
            nlist=args.nlist, m=args.m, nbits=args.nbits, nprobe=args.nprobe,
            rerank=args.rerank, M=args.hnsw_m,
            ef_construction=args.ef_construction,
            ef_search=args.ef_search).items() if v is not None}
        sample = None
        if args.index_type == 'ivfpq':
            dim = load_gallery(shards[0]).dim
            p = dict(default_params('ivfpq', total, dim), **params)
            size = args.train_size or min(total, max(64 * p['nlist'],
                                                     40 * 2 ** p['nbits']))
            print_log(f'training IVF-PQ ({p}) on {size} of {total} vectors',
                      logger='current')
            sample = _sample_rows(shards, size)
        dim = next(load_gallery(p).dim for p in shards)
        index = build_index(
            args.out, chunks(), dim, kind=kind, index_type=args.index_type,
            num=total, train_sample=sample, fingerprint=fingerprint,
            info=info, dtype=args.dtype, overwrite=args.overwrite, **params)
    print_log(f'index {args.out}: {len(index)} {kind} items '
              f'({index.index_type}, {index.dim}-d), merged in '
              f'{time.perf_counter() - start:.1f} s', logger='current')
    return index


def wait_for(paths, poll=2.0):
    """Rank 0 waits until the other ranks have written their shards."""
    while True:
        missing = [p for p in paths if not osp.isfile(p)]
        if not missing:
            return
        time.sleep(poll)


# ------------------------------------------------------------------ main
def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.logging import print_log

    from sdtr.apis import RetrievalInferencer
    from sdtr.apis.gallery import Gallery, save_gallery
    from sdtr.apis.index import SearchIndex, is_index_dir
    from sdtr.utils.progress import Progress

    rank, world, local_rank = dist_info()
    out = osp.abspath(args.out)
    work = out.rstrip('/') + '.partial'
    if args.add and not is_index_dir(out):
        raise SystemExit(f'--add: {out!r} is not an index to extend')
    if not args.add and osp.exists(out) and not args.overwrite and (
            not osp.isdir(out) or os.listdir(out)):
        raise SystemExit(f'{out!r} exists: pass --overwrite to replace it or '
                         '--add to extend it')
    device = args.device
    if device.startswith('cuda') and ':' not in device and world > 1:
        device = f'cuda:{local_rank}'
    checkpoint = None if args.checkpoint.lower() == 'none' \
        else args.checkpoint
    model = args.config
    if args.cfg_options:
        model = Config.fromfile(args.config)
        model.merge_from_dict(args.cfg_options)
    inferencer = RetrievalInferencer(model, checkpoint=checkpoint,
                                     device=device,
                                     batch_size=args.batch_size)
    fingerprint = inferencer.fingerprint
    items = list_source(args, inferencer.cfg)
    if args.add:
        existing = SearchIndex.open(out, expect_fingerprint=fingerprint,
                                    kind=args.kind)
        have = set(existing.items)
        existing.close()
        new = [i for i in items if i not in have]
        print_log(f'--add: {len(items) - len(new)} of {len(items)} items '
                  f'are in {out} already; {len(new)} to add',
                  logger='current')
        items = new
        if not items:
            return 0
    plan = dict(kind=args.kind, items=items_digest(items), count=len(items),
                shard_size=args.shard_size, fingerprint=fingerprint,
                add=bool(args.add))
    plan_file = osp.join(work, PLAN_FILE)
    if args.restart and osp.isdir(work):
        if world > 1:
            raise SystemExit('--restart: delete the partial folder '
                             f'{work} by hand before a multi-rank run')
        shutil.rmtree(work)
    if osp.isfile(plan_file):
        with open(plan_file, encoding='utf-8') as f:
            old = json.load(f)
        if json.loads(json.dumps(plan)) != old:
            diff = [k for k in plan if json.loads(json.dumps(plan[k])) !=
                    old.get(k)]
            raise SystemExit(
                f'{work} holds the shards of an interrupted build with other '
                f'settings ({", ".join(diff)} differ); resume with the same '
                'command, or pass --restart to discard them')
    elif rank == 0:
        os.makedirs(work, exist_ok=True)
        tmp = f'{plan_file}.tmp-{os.getpid()}'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(plan, f, indent=1)
        os.replace(tmp, plan_file)
    os.makedirs(work, exist_ok=True)

    num_shards = (len(items) + args.shard_size - 1) // args.shard_size
    shards = [shard_path(work, s) for s in range(num_shards)]
    mine = list(range(rank, num_shards, world))

    def names_of(s):
        return items[s * args.shard_size:(s + 1) * args.shard_size]

    done = [s for s in mine if shard_done(shards[s], names_of(s),
                                          fingerprint)]
    todo = [s for s in mine if s not in done]
    n_mine = sum(len(names_of(s)) for s in mine)
    n_done = sum(len(names_of(s)) for s in done)
    tag = f'[rank {rank}/{world}] ' if world > 1 else ''
    print_log(f'{tag}{len(items)} {args.kind} items in {num_shards} shards '
              f'of {args.shard_size}; this process: {len(mine)} shards, '
              f'{len(done)} already done (skipped), {len(todo)} to embed',
              logger='current')
    unit = 'image' if args.kind == 'image' else 'caption'
    with Progress(n_mine, f'{tag}build-gallery', unit=unit,
                  initial=n_done) as progress:
        for s in todo:
            names = names_of(s)
            feats, kept, bad = embed_shard(
                inferencer, names, s * args.shard_size, args, progress)
            for name, reason in bad:
                print_log(f'skipped unreadable image {name}: {reason}',
                          logger='current', level=30)
            info = dict(shard=s, fingerprint=fingerprint,
                        bad=[b for b, _ in bad])
            save_gallery(Gallery(feats, kept, kind=args.kind, info=info),
                         shards[s])
    if rank != 0:
        return 0
    wait_for(shards)
    from sdtr.apis.gallery import load_gallery
    bad = [b for p in shards for b in load_gallery(p).info.get('bad', [])]
    info = dict(config=getattr(inferencer.cfg, 'filename', None),
                checkpoint=checkpoint, model=type(inferencer.model).__name__,
                source=args.images or args.captions or
                f'{args.split} split of {args.config}',
                bad_images=bad)
    merge(args, work, shards, args.kind, fingerprint, info)
    if bad:
        print_log(f'{len(bad)} unreadable images were left out (listed in '
                  f'{osp.join(out, "meta.json")})', logger='current',
                  level=30)
    if not args.keep_shards:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
