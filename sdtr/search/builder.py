"""Embed an image folder, a dataset split or a caption file into an index.

:func:`run` does what ``tools/build_gallery.py`` / ``sdtr build-gallery``
(:mod:`sdtr.tools.build_gallery`, which parses the options) ask for, in
four stages, each of which a re-run of the same command resumes after a
kill at any point:

1. **plan**: ``OUT.partial/plan.json`` records what is embedded (the
   items' digest, shard size, kind, model fingerprint); a partial folder of
   another plan is refused naming what differs (``--restart`` discards it).
2. **embed**: the items are cut into shards of ``--shard-size``; each is
   embedded (images through the model's test pipeline in ``--workers``
   DataLoader processes) and written atomically to
   ``OUT.partial/shard-NNNNN.safetensors`` with the model's fingerprint.
   Shards already written are skipped.  Under ``torchrun`` rank ``r``
   embeds shards ``r, r + world, ...`` on its own GPU; rank 0 goes on once
   all exist.
3. **merge**: the shards are merged, in order, into a new index folder
   ``OUT.partial/index`` (:mod:`sdtr.search.index`), stamped with the id of
   this build (plan + index settings).  An interrupted merge is redone from
   the shards.  With ``--add`` the rows are appended to ``OUT`` itself,
   which commits atomically (``meta.json`` last).
4. **publish**: ``OUT.partial/index`` is renamed to ``OUT`` (an existing
   ``OUT``, with ``--overwrite``, is first moved into the partial folder),
   then the partial folder is removed.  A re-run that finds ``OUT`` stamped
   with its build id only removes what is left.
"""
import hashlib
import json
import os
import os.path as osp
import shutil
import time
from typing import List, Optional

import numpy as np

from sdtr.utils.errors import SdtrError

PLAN_FILE = 'plan.json'
STAGED, REPLACED = 'index', 'replaced'


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
    from sdtr.search.inferencer import list_images
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
    """Map-style dataset: item i -> the test-pipeline output of image i
    (``transform``: the inferencer's :class:`~sdtr.apis.ImageTransform`)."""

    def __init__(self, transform, paths, offset, skip_bad):
        self.transform, self.paths = transform, paths
        self.offset, self.skip_bad = offset, skip_bad

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        try:
            return dict(self.transform.pack(self.paths[i], self.offset + i),
                        name=self.paths[i])
        except Exception as err:  # noqa: BLE001
            if not self.skip_bad:
                raise SdtrError(
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
    from sdtr.search.fingerprint import fingerprint_mismatch
    from sdtr.search.gallery import load_gallery
    if not osp.isfile(path):
        return False
    try:
        shard = load_gallery(path)
    except SdtrError:
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
    loader = DataLoader(_Images(inferencer.transform, names, offset,
                                args.skip_bad),
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



# ------------------------------------------------------------------ plan
def read_json(path: str) -> Optional[dict]:
    """The JSON object in ``path``, or None when it is missing or broken
    (an interrupted write)."""
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path: str, data: dict) -> None:
    tmp = f'{path}.tmp-{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def index_params(args) -> dict:
    """The index parameters given on the command line."""
    given = dict(nlist=args.nlist, m=args.m, nbits=args.nbits,
                 nprobe=args.nprobe, rerank=args.rerank, M=args.hnsw_m,
                 ef_construction=args.ef_construction,
                 ef_search=args.ef_search)
    return {k: v for k, v in given.items() if v is not None}


def build_id(plan: dict, args) -> str:
    """Digest of what the index holds and how it is built: the embedding
    plan and the index settings."""
    what = dict(plan, index_type=args.index_type, dtype=args.dtype,
                params=index_params(args), train_size=args.train_size)
    text = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def built_by(path: str, bid: Optional[str]) -> bool:
    """Whether ``path`` holds a complete index stamped with build ``bid``."""
    meta = read_json(osp.join(path, 'meta.json'))
    return bool(bid) and meta is not None and \
        (meta.get('info') or {}).get('build') == bid


def check_out(args, out: str, work: str) -> None:
    """Refuse, before any work, an ``OUT`` that this command must not
    write: ``--add`` without an index there, or an existing ``OUT`` without
    ``--overwrite`` (unless an interrupted run of the same build published
    it)."""
    from sdtr.search.index import is_index_dir
    if args.add:
        if not is_index_dir(out):
            raise SdtrError(f'--add: {out!r} is not an index to extend')
        return
    old = read_json(osp.join(work, PLAN_FILE)) or {}
    if osp.exists(out) and not args.overwrite and (
            not osp.isdir(out) or os.listdir(out)) and \
            not built_by(out, old.get('build')):
        raise SdtrError(f'{out!r} exists: pass --overwrite to replace it or '
                        '--add to extend it')


def open_plan(work: str, plan: dict, rank: int, world: int,
              restart: bool) -> None:
    """Create ``work`` with ``plan`` or check that the plan it holds embeds
    the same shards (index settings may change: the shards are merged
    again)."""
    plan_file = osp.join(work, PLAN_FILE)
    if restart and osp.isdir(work):
        if world > 1:
            raise SdtrError('--restart: delete the partial folder '
                            f'{work} by hand before a multi-rank run')
        shutil.rmtree(work)
    old = read_json(plan_file)
    diff = [k for k in plan if k != 'build' and old is not None and
            json.loads(json.dumps(plan[k])) != old.get(k)]
    if diff:
        raise SdtrError(
            f'{work} holds the shards of an interrupted build with other '
            f'settings ({", ".join(diff)} differ); resume with the same '
            'command, or pass --restart to discard them')
    os.makedirs(work, exist_ok=True)
    if rank == 0 and (old or {}).get('build') != plan['build']:
        write_json(plan_file, plan)


# ----------------------------------------------------------------- embed
def embed_all(inferencer, items, work, args, rank, world) -> List[str]:
    """Embed this rank's shards not written yet; returns every shard's
    path (all ranks')."""
    from mmengine.logging import print_log

    from sdtr.search.gallery import Gallery, save_gallery
    from sdtr.utils.progress import Progress
    size, fingerprint = args.shard_size, inferencer.fingerprint
    shards = [shard_path(work, s)
              for s in range((len(items) + size - 1) // size)]
    mine = list(range(rank, len(shards), world))

    def names_of(s):
        return items[s * size:(s + 1) * size]

    todo = [s for s in mine
            if not shard_done(shards[s], names_of(s), fingerprint)]
    tag = f'[rank {rank}/{world}] ' if world > 1 else ''
    print_log(f'{tag}{len(items)} {args.kind} items in {len(shards)} shards '
              f'of {size}; this process: {len(mine)} shards, '
              f'{len(mine) - len(todo)} already done (skipped), {len(todo)} '
              'to embed', logger='current')
    n_done = sum(len(names_of(s)) for s in mine if s not in todo)
    with Progress(sum(len(names_of(s)) for s in mine),
                  f'{tag}build-gallery',
                  unit='image' if args.kind == 'image' else 'caption',
                  initial=n_done) as progress:
        for s in todo:
            feats, kept, bad = embed_shard(inferencer, names_of(s), s * size,
                                           args, progress)
            for name, reason in bad:
                print_log(f'skipped unreadable image {name}: {reason}',
                          logger='current', level=30)
            info = dict(shard=s, fingerprint=fingerprint,
                        bad=[b for b, _ in bad])
            save_gallery(Gallery(feats, kept, kind=args.kind, info=info),
                         shards[s])
    return shards


def wait_for(paths, poll=2.0):
    """Rank 0 waits until the other ranks have written their shards."""
    while True:
        missing = [p for p in paths if not osp.isfile(p)]
        if not missing:
            return
        time.sleep(poll)


# ----------------------------------------------------------------- merge
def _sample_rows(paths, size, seed=0):
    """A random subset of ``size`` rows over the shards, proportional to
    their sizes."""
    from sdtr.search.gallery import load_gallery
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


def shard_rows(shards):
    """``(features, names)`` of every non-empty shard, in order."""
    from sdtr.search.gallery import load_gallery
    for path in shards:
        g = load_gallery(path)
        if len(g):
            yield g.features.float().numpy(), g.items


def train_sample(args, shards, total: int, dim: int):
    """The IVF-PQ training vectors (None for other index types)."""
    if args.index_type != 'ivfpq':
        return None
    from mmengine.logging import print_log

    from sdtr.search.index import default_params
    p = dict(default_params('ivfpq', total, dim), **index_params(args))
    size = args.train_size or min(total, max(64 * p['nlist'],
                                             40 * 2 ** p['nbits']))
    print_log(f'training IVF-PQ ({p}) on {size} of {total} vectors',
              logger='current')
    return _sample_rows(shards, size)


def merge_new(args, shards, staged: str, fingerprint: dict, info: dict):
    """Write the index of ``shards`` into ``staged.tmp`` (anew), then
    rename it to ``staged``: ``staged`` exists only when complete."""
    from sdtr.search.gallery import load_gallery
    from sdtr.search.index import build_index
    counts = [len(load_gallery(p)) for p in shards]
    dim = load_gallery(shards[0]).dim
    shutil.rmtree(staged + '.tmp', ignore_errors=True)
    build_index(
        staged + '.tmp', shard_rows(shards), dim, kind=args.kind,
        index_type=args.index_type, num=sum(counts),
        train_sample=train_sample(args, shards, sum(counts), dim),
        fingerprint=fingerprint, info=info, dtype=args.dtype,
        **index_params(args))
    os.rename(staged + '.tmp', staged)


def merge_add(args, shards, out: str, fingerprint: dict):
    """Append the rows of ``shards`` to the index ``out`` (one commit)."""
    from sdtr.search.index import SearchIndex
    index = SearchIndex.open(out, mmap=False, expect_fingerprint=fingerprint,
                             kind=args.kind)
    for feats, names in shard_rows(shards):
        index.add(feats, names, flush=False)
    index.flush()
    return index


def publish(staged: str, out: str, work: str) -> None:
    """Put the merged index in place of ``out``: the old one (if any) is
    moved into ``work`` first, so every step is one rename and a re-run
    after a kill finds either the staged index or the published one."""
    if osp.exists(out):
        replaced = osp.join(work, REPLACED)
        shutil.rmtree(replaced, ignore_errors=True)
        os.rename(out, replaced)
    os.rename(staged, out)


# ------------------------------------------------------------------ run
def make_inferencer(args, world: int, local_rank: int):
    """The model of the command line (on this rank's GPU under torchrun)."""
    from mmengine.config import Config

    from sdtr.search import RetrievalInferencer
    device = args.device
    if device.startswith('cuda') and ':' not in device and world > 1:
        device = f'cuda:{local_rank}'
    model = args.config
    if args.cfg_options:
        model = Config.fromfile(args.config)
        model.merge_from_dict(args.cfg_options)
    checkpoint = None if args.checkpoint.lower() == 'none' \
        else args.checkpoint
    return RetrievalInferencer(model, checkpoint=checkpoint, device=device,
                               batch_size=args.batch_size)


def items_to_add(args, out: str, items: List[str], fingerprint: dict):
    """``--add``: the items ``out`` does not hold yet."""
    from mmengine.logging import print_log

    from sdtr.search.index import SearchIndex
    existing = SearchIndex.open(out, expect_fingerprint=fingerprint,
                                kind=args.kind)
    have = set(existing.items)
    existing.close()
    new = [i for i in items if i not in have]
    print_log(f'--add: {len(items) - len(new)} of {len(items)} items '
              f'are in {out} already; {len(new)} to add', logger='current')
    return new


def finish(args, inferencer, shards, out, work, bid) -> None:
    """Merge the shards into ``out`` (stages 3 and 4) and clean up."""
    from mmengine.logging import print_log

    from sdtr.search.gallery import load_gallery
    bad = [b for p in shards for b in load_gallery(p).info.get('bad', [])]
    start = time.perf_counter()
    if args.add:
        index = merge_add(args, shards, out, inferencer.fingerprint)
    else:
        staged = osp.join(work, STAGED)
        if not built_by(staged, bid):  # none yet, or of other settings
            shutil.rmtree(staged, ignore_errors=True)
            info = dict(inferencer._info(), build=bid, bad_images=bad,
                        source=args.images or args.captions or
                        f'{args.split} split of {args.config}')
            info.pop('fingerprint')
            merge_new(args, shards, staged, inferencer.fingerprint, info)
        publish(staged, out, work)
        from sdtr.search.index import SearchIndex
        index = SearchIndex.open(out)
    print_log(f'index {out}: {len(index)} {args.kind} items '
              f'({index.index_type}, {index.dim}-d), merged in '
              f'{time.perf_counter() - start:.1f} s', logger='current')
    if bad:
        print_log(f'{len(bad)} unreadable images were left out (listed in '
                  f'{osp.join(out, "meta.json")})', logger='current',
                  level=30)
    if not args.keep_shards:
        shutil.rmtree(work, ignore_errors=True)


def run(args):
    """Build (or extend, resume) the index that the parsed options of
    ``tools/build_gallery.py`` describe; returns 0."""
    from mmengine.logging import print_log
    rank, world, local_rank = dist_info()
    out = osp.abspath(args.out)
    work = out.rstrip('/') + '.partial'
    check_out(args, out, work)
    inferencer = make_inferencer(args, world, local_rank)
    items = list_source(args, inferencer.cfg)
    if args.add:
        items = items_to_add(args, out, items, inferencer.fingerprint)
    plan = dict(kind=args.kind, items=items_digest(items), count=len(items),
                shard_size=args.shard_size, add=bool(args.add),
                fingerprint=inferencer.fingerprint)
    plan['build'] = bid = build_id(plan, args)
    resumed = (read_json(osp.join(work, PLAN_FILE)) or {}).get('build')
    if (args.add and not items) or (resumed == bid and built_by(out, bid)):
        print_log(f'index {out} holds every item already', logger='current')
        if rank == 0 and not args.keep_shards:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    open_plan(work, plan, rank, world, args.restart)
    shards = embed_all(inferencer, items, work, args, rank, world)
    if rank == 0:
        wait_for(shards)
        finish(args, inferencer, shards, out, work, bid)
    return 0
