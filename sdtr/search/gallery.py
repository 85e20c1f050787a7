"""A feature gallery on disk: embeddings + item names in one safetensors file.

The file holds one tensor ``features`` ``[N, D]`` (float32 or float16) and,
in the safetensors text metadata, the JSON-encoded list of the ``N`` item
names (image paths for an image gallery, captions for a text gallery), the
gallery ``kind`` (``'image'`` or ``'text'``) and free-form ``info`` (e.g. the
config and checkpoint that produced the features), so a cache can be checked
against the model that reads it.  safetensors files contain no code: reading
one is always safe.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Optional

import torch

from sdtr.utils.errors import SdtrError

FORMAT_TAG = 'sdtr-gallery-v1'


@dataclass
class Gallery:
    """Gallery features and the names of their items.

    Attributes:
        features (Tensor): ``[N, D]`` L2-normalised embeddings.
        items (list[str]): ``N`` names (image paths or captions).
        kind (str): ``'image'`` or ``'text'``.
        info (dict): provenance (config, checkpoint, ...).
    """
    features: torch.Tensor
    items: List[str]
    kind: str = 'image'
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.features.dim() != 2:
            raise ValueError('gallery features must be [N, D], got shape '
                             f'{tuple(self.features.shape)}')
        if len(self.items) != self.features.shape[0]:
            raise ValueError(f'gallery has {self.features.shape[0]} feature '
                             f'rows but {len(self.items)} item names')
        if self.kind not in ('image', 'text'):
            raise ValueError(f"gallery kind must be 'image' or 'text', got "
                             f'{self.kind!r}')
        finite = torch.isfinite(self.features).all(dim=1)
        if not bool(finite.all()):
            rows = torch.nonzero(~finite).flatten().tolist()
            raise SdtrError(
                f'{len(rows)} of {len(self)} gallery feature rows hold NaN '
                f'or inf (rows {rows[:5]}: '
                f'{[self.items[r] for r in rows[:5]]}); the model produced '
                'non-finite features for them, which a search would never '
                'return')

    def __len__(self) -> int:
        return len(self.items)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def fingerprint(self) -> Optional[dict]:
        return self.info.get('fingerprint')

    def search(self, query, topk: int = 10, chunk_size: Optional[int] = None,
               **unused):
        """Exact top-k rows of ``query`` (see :func:`topk_search`; the
        signature matches :meth:`sdtr.search.index.SearchIndex.search`)."""
        from .topk import topk_search
        if not isinstance(query, torch.Tensor):
            query = torch.as_tensor(query)
        return topk_search(query.float(), self.features, topk,
                           chunk_size=chunk_size)


def save_gallery(gallery: Gallery, path: str) -> str:
    """Write ``gallery`` to ``path`` (``.safetensors``) atomically."""
    from safetensors.torch import save_file
    path = str(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    metadata = dict(
        format=FORMAT_TAG,
        kind=gallery.kind,
        items=json.dumps(list(gallery.items)),
        info=json.dumps(gallery.info, default=str))
    tmp = f'{path}.tmp-{os.getpid()}'
    save_file({'features': gallery.features.detach().contiguous().cpu()},
              tmp, metadata=metadata)
    os.replace(tmp, path)
    return path


def load_gallery(path: str, device: str = 'cpu') -> Gallery:
    """Read a gallery written by :func:`save_gallery`.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        SdtrError: the file is not an sdtr gallery, or holds non-finite
            features (names what is wrong).
    """
    from safetensors import SafetensorError, safe_open
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'gallery cache {path!r} does not exist')
    try:
        with safe_open(path, framework='pt', device=str(device)) as f:
            meta = f.metadata() or {}
            keys = list(f.keys())
            if 'features' not in keys:
                raise SdtrError(f'{path!r} has no "features" tensor '
                                f'(tensors: {keys}); not an sdtr gallery')
            features = f.get_tensor('features')
    except SafetensorError as err:
        raise SdtrError(f'{path!r} is not a readable safetensors file: '
                        f'{err}') from err
    if meta.get('format') != FORMAT_TAG:
        raise SdtrError(f'{path!r} is not an sdtr gallery (metadata format '
                        f'{meta.get("format")!r}, expected {FORMAT_TAG!r})')
    try:
        items = json.loads(meta['items'])
        info = json.loads(meta.get('info', '{}'))
    except (KeyError, json.JSONDecodeError) as err:
        raise SdtrError(f'{path!r}: broken gallery metadata ({err})') \
            from err
    try:
        return Gallery(features=features, items=items,
                       kind=meta.get('kind', 'image'), info=info)
    except (SdtrError, ValueError) as err:
        raise SdtrError(f'gallery {path!r}: {err}') from err


def is_gallery_file(path: Optional[str]) -> bool:
    """Whether ``path`` names an existing ``.safetensors`` file."""
    return isinstance(path, (str, os.PathLike)) and str(path).endswith(
        '.safetensors') and osp.isfile(path)
