"""Helpers of the webdataset-layout caption shards (not registered).

A *shard* is a plain POSIX tar file in the standard webdataset layout: the
files of one sample are consecutive members sharing a key (the member name
up to the first ``.`` of its base name)::

    000000000.png   000000000.txt   000000000.json
    000000001.jpg   000000001.txt   000000001.json
    ...

``<key>.txt`` holds the caption (UTF-8), ``<key>.<jpg|png|...>`` the encoded
image and the optional ``<key>.json`` metadata such as the original image
name (``img_name``) and the scene name (``scene``), from which the scene
label of PIR's affiliation loss is derived.

Shard sets are described by an index ``shards.json`` next to the shards
(written by :func:`write_caption_shards` / ``tools/dataset_converters/
make_shards.py``)::

    {"shards": [{"file": "rs-000000.tar", "num_samples": 1000}, ...],
     "num_samples": 5000, "scene_classes": ["airport", ...]}

so a reader knows the sample count of every shard without scanning it (the
exact, non-resampled mode needs the counts to split an epoch across ranks and
workers).  :func:`index_shards` writes the index of existing shards (e.g.
RS5M's).  We use Python's :mod:`tarfile` rather than the ``webdataset``
package: the reader needs sample-exact splitting and random skips inside a
shard, which are a few lines with :mod:`tarfile` and would otherwise need
an extra dependency.
"""
import io
import json
import os
import os.path as osp
import re
import tarfile
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from .errors import BadSampleError

INDEX_FILE = 'shards.json'
IMAGE_EXTS = ('jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'bmp')


def expand_braces(pattern: str) -> List[str]:
    """Expand webdataset brace ranges: ``'a-{000..002}.tar'`` ->
    ``['a-000.tar', 'a-001.tar', 'a-002.tar']`` (zero padding kept; several
    ranges and ``{a,b}`` lists are expanded left to right)."""
    match = re.search(r'\{([^{}]*)\}', pattern)
    if match is None:
        return [pattern]
    body = match.group(1)
    head, tail = pattern[:match.start()], pattern[match.end():]
    rng = re.fullmatch(r'(\d+)\.\.(\d+)', body)
    if rng:
        lo, hi = rng.group(1), rng.group(2)
        width = len(lo) if lo.startswith('0') or len(lo) == len(hi) else 0
        if int(hi) < int(lo):
            raise ValueError(f'empty brace range {{{body}}} in {pattern!r}')
        items = [str(i).zfill(width) for i in range(int(lo), int(hi) + 1)]
    else:
        items = body.split(',')
    out = []
    for item in items:
        out.extend(expand_braces(head + item + tail))
    return out


def split_member_name(name: str) -> Tuple[str, str]:
    """``'dir/000001.seg.png'`` -> (``'dir/000001'``, ``'seg.png'``)."""
    dirname, base = osp.split(name)
    if '.' not in base:
        return name, ''
    key, ext = base.split('.', 1)
    return (osp.join(dirname, key) if dirname else key), ext.lower()


def iter_tar_samples(path: str) -> Iterator[Tuple[str, Dict[str, bytes]]]:
    """Yield ``(key, {ext: bytes})`` for every sample of a tar shard, in file
    order (members of one sample must be consecutive, as webdataset
    writes them).

    Raises:
        BadSampleError: the file is missing or is not a readable tar.
    """
    if not osp.isfile(path):
        raise BadSampleError('shard file does not exist; expected a tar '
                             'written by make_shards.py or webdataset',
                             file=path)
    try:
        tar = tarfile.open(path, mode='r|*')
    except (tarfile.TarError, OSError) as err:
        raise BadSampleError(f'cannot open the shard as a tar archive '
                             f'({err})', file=path) from err
    current, files = None, {}
    try:
        for member in tar:
            if not member.isfile():
                continue
            key, ext = split_member_name(member.name)
            if key.startswith('__') or not ext:
                continue  # webdataset metadata entries such as __key__
            if key != current:
                if current is not None:
                    yield current, files
                current, files = key, {}
            fobj = tar.extractfile(member)
            files[ext] = fobj.read() if fobj is not None else b''
        if current is not None:
            yield current, files
    except tarfile.TarError as err:
        raise BadSampleError(f'corrupt tar archive ({err})',
                             file=path) from err
    finally:
        tar.close()


def count_tar_samples(path: str) -> int:
    """Number of samples (distinct consecutive keys) of a shard."""
    count, current = 0, None
    if not osp.isfile(path):
        raise BadSampleError('shard file does not exist', file=path)
    with tarfile.open(path, mode='r|*') as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, ext = split_member_name(member.name)
            if key.startswith('__') or not ext:
                continue
            if key != current:
                count += 1
                current = key
    return count


def read_index(folder: str) -> dict:
    """Read ``<folder>/shards.json`` and check its fields."""
    path = osp.join(folder, INDEX_FILE)
    try:
        with open(path) as f:
            index = json.load(f)
    except FileNotFoundError as err:
        raise BadSampleError(
            f'no shard index {INDEX_FILE!r} in the folder; write it with '
            '`python tools/dataset_converters/make_shards.py --index '
            f'{folder}`', file=path) from err
    except json.JSONDecodeError as err:
        raise BadSampleError(f'invalid JSON ({err})', file=path) from err
    shards = index.get('shards') if isinstance(index, dict) else None
    if not isinstance(shards, list) or not shards:
        raise BadSampleError('expected {"shards": [{"file": ..., '
                             '"num_samples": ...}, ...]}', file=path,
                             entry='shards')
    for i, shard in enumerate(shards):
        if not isinstance(shard, dict) or not isinstance(
                shard.get('file'), str) or not isinstance(
                    shard.get('num_samples'), int):
            raise BadSampleError(
                'each shard entry needs "file" (str) and "num_samples" '
                f'(int), got {shard!r}', file=path, entry=f'shards[{i}]')
    return index


def index_shards(folder: str, pattern: str = '*.tar',
                 scene_classes: Optional[Sequence[str]] = None) -> str:
    """Scan the tar shards of ``folder`` and write its ``shards.json``."""
    import glob
    files = sorted(glob.glob(osp.join(folder, pattern)))
    if not files:
        raise FileNotFoundError(f'no shard matches {pattern!r} in {folder}')
    shards = [dict(file=osp.basename(f), num_samples=count_tar_samples(f))
              for f in files]
    return _write_index(folder, shards, scene_classes)


def _write_index(folder, shards, scene_classes=None) -> str:
    index = dict(shards=shards,
                 num_samples=sum(s['num_samples'] for s in shards))
    if scene_classes is not None:
        index['scene_classes'] = list(scene_classes)
    path = osp.join(folder, INDEX_FILE)
    with open(path + '.tmp', 'w') as f:
        json.dump(index, f, indent=1)
    os.replace(path + '.tmp', path)
    return path


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 0  # reproducible bytes
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_caption_shards(dataset,
                         out_dir: str,
                         prefix: str = 'shard',
                         maxcount: int = 1000,
                         max_captions_per_image: Optional[int] = None
                         ) -> dict:
    """Write an sdtr caption dataset as webdataset tar shards.

    Every (image, caption) pair becomes one sample ``<key>.<ext>`` (the
    original encoded image bytes), ``<key>.txt`` and ``<key>.json``
    (``img_name``, ``scene``, ``image_id``, ``source``).

    Args:
        dataset: a :class:`~sdtr.datasets.BaseRetrievalDataset` (any format,
            synthetic included); its image records are read, not its
            pipeline.
        out_dir (str): output folder (created).
        prefix (str): shard file prefix (``<prefix>-000000.tar``).
        maxcount (int): samples per shard.
        max_captions_per_image (int, optional): keep at most this many
            captions of each image.

    Returns:
        dict: ``index`` (path of ``shards.json``), ``num_samples``,
        ``num_shards``.
    """
    if maxcount < 1:
        raise ValueError(f'maxcount must be >= 1, got {maxcount}')
    dataset.full_init()
    records = dataset.image_records
    if not records:
        raise ValueError(f'{type(dataset).__name__} has no image records')
    os.makedirs(out_dir, exist_ok=True)
    shards, tar, n_in_shard, total = [], None, 0, 0
    scenes = set()

    def close():
        if tar is not None:
            tar.close()
            shards.append(dict(file=osp.basename(tar.name),
                               num_samples=n_in_shard))

    for rec in records:
        path = rec['img_path']
        ext = osp.splitext(path)[1].lstrip('.').lower() or 'jpg'
        if ext not in IMAGE_EXTS:
            raise BadSampleError(f'unsupported image extension {ext!r}; '
                                 f'expected one of {IMAGE_EXTS}', file=path)
        with open(path, 'rb') as f:
            img_bytes = f.read()
        captions = rec['captions']
        if max_captions_per_image is not None:
            captions = captions[:max_captions_per_image]
        scene = rec.get('label_name')
        if scene is not None:
            scenes.add(scene)
        for cap in captions:
            if tar is None or n_in_shard >= maxcount:
                close()
                name = osp.join(out_dir,
                                f'{prefix}-{len(shards):06d}.tar')
                tar = tarfile.open(name, 'w')
                n_in_shard = 0
            key = f'{total:09d}'
            meta = dict(img_name=osp.basename(path), scene=scene,
                        image_id=int(rec['image_id']),
                        source=type(dataset).__name__)
            _add_member(tar, f'{key}.{ext}', img_bytes)
            _add_member(tar, f'{key}.txt', cap.encode('utf-8'))
            _add_member(tar, f'{key}.json', json.dumps(meta).encode())
            n_in_shard += 1
            total += 1
    close()
    index = _write_index(out_dir, shards, sorted(scenes))
    return dict(index=index, num_samples=total, num_shards=len(shards))
