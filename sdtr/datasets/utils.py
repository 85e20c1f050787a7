"""Helpers shared by the sdtr datasets: scene labels, image decoding,
annotation reading and image fingerprints."""
import hashlib
import io
import json
import os.path as osp
import warnings
from typing import Any, Iterator, List, Optional, Sequence

import cv2
import numpy as np

from .errors import BadImageError, BadSampleError

#: UC Merced land-use classes in the order of the UCM-captions numbering.
#: UCM-captions names its 2,100 images ``1.tif`` ... ``2100.tif``; they are
#: assumed to follow the alphabetical class order of the original UC Merced
#: release, 100 images per class, so image ``n`` belongs to class
#: ``(n - 1) // 100``.  This is an assumption (not stated by the release):
#: check it on your copy before relying on the labels.
UCM_CLASSES = (
    'agricultural', 'airplane', 'baseballdiamond', 'beach', 'buildings',
    'chaparral', 'denseresidential', 'forest', 'freeway', 'golfcourse',
    'harbor', 'intersection', 'mediumresidential', 'mobilehomepark',
    'overpass', 'parkinglot', 'river', 'runway', 'sparseresidential',
    'storagetanks', 'tenniscourt')

SCENE_RULES = ('prefix', 'ucm', None)


def scene_name_from_filename(path: str, rule: Optional[str] = 'prefix'
                             ) -> Optional[str]:
    """Scene class name of an image, derived from its file name.

    Rules:

    * ``'prefix'`` (PIR's rule): the part of the base name before the first
      ``_`` (``airport_17.jpg`` -> ``airport``).  A name without ``_`` (the
      purely numeric RSICD files such as ``00578.jpg``) becomes its own
      singleton class named by the whole file name (``'00578.jpg'``), which
      is exactly what PIR's ``split('_')[0]`` produces.
    * ``'ucm'``: numeric UCM-captions names map to ``UCM_CLASSES[(n-1)//100]``
      (documented assumption, see :data:`UCM_CLASSES`); other names fall
      back to the prefix rule.
    * ``None``: no scene label (returns ``None``; the label becomes -1).
    """
    if rule is None:
        return None
    if rule not in SCENE_RULES:
        raise ValueError(f'unknown scene_rule {rule!r}; expected one of '
                         f'{SCENE_RULES}')
    base = osp.basename(str(path))
    if rule == 'ucm':
        stem = osp.splitext(base)[0]
        if stem.isdigit() and int(stem) >= 1:
            idx = (int(stem) - 1) // 100
            if idx < len(UCM_CLASSES):
                return UCM_CLASSES[idx]
    return base.split('_')[0]


def decode_image(content: bytes, filename: str = '<bytes>',
                 flag: str = 'color') -> np.ndarray:
    """Decode encoded image bytes to a BGR ``uint8`` array (HxWx3).

    OpenCV is tried first (jpg, png, bmp, most tif files); Pillow is the
    fallback for files OpenCV cannot read.  Never returns ``None``.

    Raises:
        BadImageError: the bytes cannot be decoded (names ``filename``).
    """
    if not content:
        raise BadImageError('the image file is empty (0 bytes); expected an '
                            'encoded image', file=filename)
    buf = np.frombuffer(content, dtype=np.uint8)
    cv_flag = (cv2.IMREAD_GRAYSCALE if flag == 'grayscale'
               else cv2.IMREAD_COLOR)
    img = None
    try:
        img = cv2.imdecode(buf, cv_flag)
    except cv2.error:  # pragma: no cover - depends on the codec
        img = None
    if img is None:
        try:
            from PIL import Image
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                with Image.open(io.BytesIO(content)) as pil:
                    pil = pil.convert('L' if flag == 'grayscale' else 'RGB')
                    img = np.asarray(pil)
            if flag != 'grayscale':
                img = np.ascontiguousarray(img[..., ::-1])
        except Exception as err:  # noqa: BLE001 - any decoder failure
            raise BadImageError(
                'cannot decode the image (corrupt or unsupported format: '
                f'{type(err).__name__}: {err}); expected a readable '
                'jpg/png/tif', file=filename) from err
    if img.dtype != np.uint8:
        # 16-bit or float rasters: rescale to the uint8 range
        img = img.astype(np.float64)
        lo, hi = float(img.min()), float(img.max())
        img = ((img - lo) / max(hi - lo, 1e-12) * 255.0).round()
        img = img.astype(np.uint8)
    if flag != 'grayscale' and img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return img


def read_image(path: str, flag: str = 'color',
               backend_args: Optional[dict] = None) -> np.ndarray:
    """Read and decode one image file (see :func:`decode_image`).

    Raises:
        BadImageError: missing, unreadable or undecodable file.
    """
    from mmengine.fileio import get
    try:
        content = get(path, backend_args=backend_args)
    except FileNotFoundError as err:
        raise BadImageError('image file not found', file=path) from err
    except OSError as err:
        raise BadImageError(f'cannot read the image file ({err})',
                            file=path) from err
    return decode_image(content, filename=path, flag=flag)


def file_md5(path: str) -> str:
    """Hex md5 of the bytes of a file."""
    h = hashlib.md5()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def average_hash(path: str, hash_size: int = 16,
                 thumb_size: int = 0):
    """Perceptual average hash of an image.

    The image is decoded in grayscale, shrunk to ``hash_size x hash_size``
    with area interpolation, and each cell becomes one bit (brighter than the
    mean or not).  Re-encoding the same picture (png -> jpg, tif -> jpg,
    a resize) changes only a few bits, so near-duplicates are found with a
    small Hamming distance.  Different images with the same coarse layout
    can collide too, hence the optional thumbnail for a pixel-level check
    (see :func:`thumbnails_match`).

    Args:
        path (str): image file.
        hash_size (int): side of the hash grid (16 -> 256 bits).
        thumb_size (int): also return a ``thumb_size`` square grayscale
            thumbnail (uint8) when > 0.

    Returns:
        np.ndarray | tuple: packed bits (``uint8``, ``hash_size**2 / 8``
        bytes), or ``(bits, thumbnail)`` when ``thumb_size > 0``.
    """
    gray = read_image(path, flag='grayscale')
    small = cv2.resize(gray, (hash_size, hash_size),
                       interpolation=cv2.INTER_AREA).astype(np.float32)
    bits = np.packbits((small > small.mean()).reshape(-1))
    if thumb_size <= 0:
        return bits
    thumb = cv2.resize(gray, (thumb_size, thumb_size),
                       interpolation=cv2.INTER_AREA)
    return bits, thumb


def thumbnail_distance(thumb: np.ndarray, others: np.ndarray) -> np.ndarray:
    """99th percentile of the absolute pixel difference between a grayscale
    thumbnail and each of ``others`` (N x h x w).  Re-encoded or resized
    copies of one picture stay around 0-12 grey levels; different pictures
    are far above 40 even when their average hashes collide."""
    diff = np.abs(others.astype(np.int16) - thumb.astype(np.int16)[None])
    return np.percentile(diff.reshape(len(others), -1), 99, axis=1)


def hamming_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise Hamming distances between packed bit rows ``a`` and ``b``."""
    x = np.bitwise_xor(a[:, None, :], b[None, :, :])
    if hasattr(np, 'bitwise_count'):
        return np.bitwise_count(x).sum(-1, dtype=np.int64)
    # numpy < 2.0
    return np.unpackbits(x, axis=-1).sum(-1, dtype=np.int64)


def load_json(path: str) -> Any:
    """Load a json annotation file with an error that names the file."""
    from mmengine.fileio import get_text
    try:
        text = get_text(path)
    except FileNotFoundError as err:
        raise BadSampleError('annotation file not found', file=path) from err
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise BadSampleError(
            f'not valid json ({err.msg} at line {err.lineno}, column '
            f'{err.colno}); expected a json annotation file',
            file=path) from err


def read_lines(path: str) -> List[str]:
    """Lines of a text annotation file (without line endings)."""
    from mmengine.fileio import get_text
    try:
        text = get_text(path, encoding='utf-8')
    except FileNotFoundError as err:
        raise BadSampleError('annotation file not found', file=path) from err
    return text.splitlines()


def require_keys(entry: Any, keys: Sequence[str], types: Sequence[type],
                 file: str, where: str) -> None:
    """Check that ``entry`` is a dict with ``keys`` of the given ``types``.

    Raises:
        BadSampleError: naming ``file``, ``where`` and what was expected.
    """
    if not isinstance(entry, dict):
        raise BadSampleError(
            f'expected a json object with keys {list(keys)}, got '
            f'{type(entry).__name__}', file=file, entry=where)
    for key, typ in zip(keys, types):
        if key not in entry:
            raise BadSampleError(
                f'missing key {key!r}; expected keys {list(keys)} '
                f'(found {sorted(entry)})', file=file, entry=where)
        if not isinstance(entry[key], typ) or (
                typ is int and isinstance(entry[key], bool)):
            tname = (typ.__name__ if isinstance(typ, type) else
                     '/'.join(t.__name__ for t in typ))
            raise BadSampleError(
                f'key {key!r} should be {tname}, got '
                f'{type(entry[key]).__name__} ({entry[key]!r:.60})',
                file=file, entry=where)


def iter_wrapped_datasets(dataset,
                          attrs: Sequence[str] = ('datasets', 'dataset'),
                          max_depth: int = 8) -> Iterator[Any]:
    """``dataset`` and, depth first, the datasets it wraps through the
    attributes ``attrs`` (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``, ...), wrapper before members."""
    if dataset is None or max_depth < 0:
        return
    yield dataset
    for attr in attrs:
        child = getattr(dataset, attr, None)
        children = child if isinstance(child, (list, tuple)) else [child]
        for c in children:
            yield from iter_wrapped_datasets(c, attrs, max_depth - 1)
