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

**Where shards live.**  A shard is a local path or a URL read through the
``webdataset`` library's ``gopen`` (:func:`open_shard`): ``https://`` and
``http://`` (curl), ``pipe:<shell command writing the tar to stdout>``
(e.g. ``pipe:aws s3 cp s3://bucket/rs5m-000001.tar -``), ``gs://`` (gsutil),
``hf://``, ``ais://`` and the others of ``webdataset.gopen.gopen_schemes``;
``s3://bucket/key`` is read as ``pipe:aws s3 cp s3://bucket/key -`` (the
AWS CLI, as webdataset's documentation recommends).  Brace patterns
(``rs5m-{000000..000499}.tar``), ``::``-separated lists and ``${WDS_...}``
variables are expanded by ``webdataset.shardlists.expand_urls``.

Shard sets are described by an index ``shards.json`` next to the shards
(written by :func:`write_caption_shards` / ``tools/dataset_converters/
make_shards.py``)::

    {"shards": [{"file": "rs-000000.tar", "num_samples": 1000}, ...],
     "num_samples": 5000, "scene_classes": ["airport", ...]}

so a reader knows the sample count of every shard without scanning it (the
exact, non-resampled mode needs the counts to split an epoch across ranks and
workers).  A ``file`` is relative to the index (a local folder or a URL
prefix such as ``https://host/rs5m/``) or a full URL.  :func:`index_shards`
writes the index of existing local shards (e.g. RS5M's).  The tar stream is
parsed with Python's :mod:`tarfile`: the reader needs sample-exact splitting
(skipping the first samples of a shard), which webdataset's pipeline stages
do not offer.
"""
import io
import json
import os
import os.path as osp
import posixpath
import tarfile
from typing import Dict, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import urlparse

from .errors import BadSampleError

INDEX_FILE = 'shards.json'
IMAGE_EXTS = ('jpg', 'jpeg', 'png', 'webp', 'tif', 'tiff', 'bmp')


def is_url(name: str) -> bool:
    """Whether ``name`` is a URL (``scheme:...``, ``pipe:`` included)
    rather than a local path (a Windows drive letter is a path)."""
    return isinstance(name, str) and len(urlparse(name).scheme) > 1


def expand_braces(pattern: str) -> List[str]:
    """Expand a shard pattern with ``webdataset.shardlists.expand_urls``:
    ``'a-{000..002}.tar'`` -> ``['a-000.tar', 'a-001.tar', 'a-002.tar']``
    (zero padding kept; ``{a,b}`` lists; several patterns joined by ``::``;
    ``${WDS_VAR}`` environment variables)."""
    from webdataset.shardlists import expand_urls
    return list(expand_urls(pattern))


def _shell_url(url: str) -> str:
    """``s3://bucket/key`` -> webdataset's ``pipe:`` form (AWS CLI)."""
    if url.startswith('s3://'):
        return f'pipe:aws s3 cp {url} -'
    return url


def open_shard(name: str):
    """A binary stream of a shard: a local file, or a URL through
    ``webdataset.gopen.gopen``.

    Raises:
        BadSampleError: a local file is missing, or the URL has no opener.
    """
    if not is_url(name) or name.startswith('file:'):
        path = urlparse(name).path if name.startswith('file:') else name
        if not osp.isfile(path):
            raise BadSampleError('shard file does not exist; expected a tar '
                                 'written by make_shards.py or webdataset',
                                 file=name)
        return open(path, 'rb')
    from webdataset.gopen import gopen
    try:
        return gopen(_shell_url(name), 'rb')
    except ValueError as err:  # no handler for the scheme
        raise BadSampleError(f'cannot open the URL ({err}); supported: '
                             'local paths, http(s)://, s3://, pipe:<command> '
                             'and the schemes of webdataset.gopen',
                             file=name) from err


def _read_failure(name: str, err: Exception) -> BadSampleError:
    if is_url(name):
        return BadSampleError(
            f'cannot read the shard from its URL ({type(err).__name__}: '
            f'{err}); is the URL right and the server/command reachable '
            '(curl for http, the AWS CLI for s3://)?', file=name)
    return BadSampleError(f'cannot open the shard as a tar archive ({err})',
                          file=name)


def _tar_members(name: str):
    """Open ``name`` (path or URL) as a streamed tar: (stream, tar)."""
    stream = open_shard(name)
    try:
        return stream, tarfile.open(fileobj=stream, mode='r|*')
    except (tarfile.TarError, OSError) as err:
        try:  # a failed download/command: its exit status says why
            stream.close()
        except OSError as status:
            err = status
        raise _read_failure(name, err) from err


def _close(stream) -> None:
    try:
        stream.close()
    except OSError:
        pass  # a pipe closed early (we stopped reading) exits non-zero


def split_member_name(name: str) -> Tuple[str, str]:
    """``'dir/000001.seg.png'`` -> (``'dir/000001'``, ``'seg.png'``)."""
    dirname, base = osp.split(name)
    if '.' not in base:
        return name, ''
    key, ext = base.split('.', 1)
    return (osp.join(dirname, key) if dirname else key), ext.lower()


def iter_tar_samples(path: str) -> Iterator[Tuple[str, Dict[str, bytes]]]:
    """Yield ``(key, {ext: bytes})`` for every sample of a tar shard (a local
    path or a URL, see :func:`open_shard`), in file order (members of one
    sample must be consecutive, as webdataset writes them).

    Raises:
        BadSampleError: the shard is missing, unreadable or not a tar.
    """
    stream, tar = _tar_members(path)
    current, files = None, {}
    completed = False
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
        completed = True
    except tarfile.TarError as err:
        raise BadSampleError(f'corrupt tar archive ({err})',
                             file=path) from err
    except OSError as err:
        raise _read_failure(path, err) from err
    finally:
        tar.close()
        if completed:
            try:  # a download or command that failed at the end
                stream.close()
            except OSError as err:
                raise _read_failure(path, err) from err
        else:
            _close(stream)


def count_tar_samples(path: str) -> int:
    """Number of samples (distinct consecutive keys) of a shard."""
    count, current = 0, None
    stream, tar = _tar_members(path)
    try:
        for member in tar:
            if not member.isfile():
                continue
            key, ext = split_member_name(member.name)
            if key.startswith('__') or not ext:
                continue
            if key != current:
                count += 1
                current = key
    except (tarfile.TarError, OSError) as err:
        raise _read_failure(path, err) from err
    finally:
        tar.close()
        _close(stream)
    return count


def index_location(name: str) -> Optional[str]:
    """The ``shards.json`` that ``name`` designates, or None: ``name`` itself
    when it ends in ``.json``, ``<folder>/shards.json`` for a local folder,
    ``<url>shards.json`` for a URL ending in ``/``."""
    if name.endswith('.json'):
        return name
    if is_url(name):
        return name + INDEX_FILE if name.endswith('/') else None
    return osp.join(name, INDEX_FILE) if osp.isdir(name) else None


def join_shard(index_path: str, file: str) -> str:
    """A shard entry of an index, relative to the index's folder/URL."""
    if is_url(file) or osp.isabs(file):
        return file
    if is_url(index_path):
        return posixpath.join(posixpath.dirname(index_path), file)
    return osp.join(osp.dirname(index_path), file)


def read_index(folder: str) -> dict:
    """Read ``shards.json`` (a local folder, a ``.json`` path or URL, or a
    URL prefix ending in ``/``) and check its fields."""
    path = index_location(folder) or osp.join(folder, INDEX_FILE)
    try:
        if is_url(path):
            stream = open_shard(path)
            try:
                data = stream.read()
            finally:
                stream.close()  # raises when the download/command failed
            index = json.loads(data.decode('utf-8'))
        else:
            with open(path) as f:
                index = json.load(f)
    except FileNotFoundError as err:
        raise BadSampleError(
            f'no shard index {INDEX_FILE!r} in the folder; write it with '
            '`python tools/dataset_converters/make_shards.py --index '
            f'{folder}`', file=path) from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise BadSampleError(f'invalid JSON ({err})', file=path) from err
    except OSError as err:
        raise _read_failure(path, err) from err
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
