"""The one restricted checkpoint loader of sdtr.

Every checkpoint sdtr reads -- a local file, an ``http(s)://`` URL,
``load_from``, ``resume``, ``init_cfg=dict(type='Pretrained')``,
:func:`sdtr.apis.get_model`, ``tools/test.py``, the converters and the
pretrained tower weights -- is unpickled by :func:`safe_torch_load`:
``torch.load(weights_only=True)`` plus an explicit allow-list of the few
classes mmengine itself writes (``HistoryBuffer``, ``ConfigDict`` and numpy's
array/dtype reconstruction helpers).  A file that needs any other class (a
pickled object whose ``__reduce__`` would run code) is refused with an error
naming the file and the class; nothing in it runs.

Why this module exists:

* mmengine 0.10.7 loads local files with a bare ``torch.load``; since
  PyTorch 2.6 that means ``weights_only=True`` without the allow-list, so
  every checkpoint of mmengine's own ``CheckpointHook`` fails to load
  (``--resume``, ``load_from``).
* mmengine's ``http://``/``https://`` loader (and the ``torchvision://``,
  ``open-mmlab://``, ``mmcls://`` schemes built on it) calls
  ``torch.hub.load_state_dict_from_url``, which unpickles with
  ``weights_only=False``: a checkpoint served by URL could run arbitrary
  code.

:func:`register_checkpoint_loaders` (called by
:func:`sdtr.utils.register_all_modules`)
re-registers all of mmengine's schemes in ``CheckpointLoader``: URLs are
downloaded once into torch.hub's cache (``<torch hub dir>/checkpoints/<file
name>``, the place ``torch.hub.load_state_dict_from_url`` uses; in a
distributed run rank 0 downloads first) and read from there by
:func:`safe_torch_load`; ``s3://``/``petrel://`` bytes go through the same
function; ``pavi://`` is refused.

Users who trust a file that needs other classes set
``SDTR_TRUST_CHECKPOINTS=1``: then files are loaded with
``weights_only=False`` (local files and downloads alike).
"""
import io
import os
import os.path as osp
import pickle
import re
import sys
from typing import Optional
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'SDTR_TRUST_CHECKPOINTS'
URL_PREFIXES = ('http://', 'https://')
_SHA256_RE = re.compile(r'[0-9a-f]{64}')
_HASH_SUFFIX_RE = re.compile(r'-([0-9a-f]{8,64})\.[A-Za-z0-9]+$')


def _numpy_safe_globals():
    """numpy callables and classes needed to unpickle plain numpy arrays."""
    items = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    items += [_reconstruct, scalar]
    # dtype classes such as numpy.dtypes.Float64DType are pickled by reference
    dtypes_mod = getattr(np, 'dtypes', None)
    if dtypes_mod is not None:
        for name in dir(dtypes_mod):
            obj = getattr(dtypes_mod, name)
            if isinstance(obj, type) and issubclass(obj, np.dtype):
                items.append(obj)
    return items


def _history_buffer_getattr(obj, name):
    """Stand-in for ``getattr`` while unpickling.

    ``HistoryBuffer`` pickles its registered statistics methods as
    ``getattr(HistoryBuffer, 'mean')``.  Only that exact pattern is allowed;
    anything else would let a crafted file reach arbitrary objects.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is HistoryBuffer and not name.startswith('_') and callable(
            getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) while loading a checkpoint')


def checkpoint_safe_globals():
    """Classes allowed when unpickling mmengine checkpoints.

    Returns:
        list: objects to pass to ``torch.serialization.safe_globals``.
    """
    from mmengine.config import ConfigDict
    from mmengine.logging.history_buffer import HistoryBuffer
    return [
        HistoryBuffer, ConfigDict,
        (_history_buffer_getattr, 'builtins.getattr'),
        (_history_buffer_getattr, '__builtin__.getattr'),
    ] + _numpy_safe_globals()


def safe_torch_load(filename, map_location=None, source: Optional[str] = None):
    """``torch.load`` with ``weights_only=True`` and the mmengine allow-list.

    Args:
        filename (str | file-like): checkpoint to read.
        map_location: same as :func:`torch.load`.
        source (str, optional): where the file came from (a URL), used in
            error messages.

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file needs a class outside the allow-list, or is not
            a torch checkpoint; the message names the file and the class.
    """
    if isinstance(filename, (str, os.PathLike)) and not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {str(filename)!r} does not '
                                'exist')
    name = repr(str(filename)) if isinstance(filename, (str, os.PathLike)) \
        else 'from a byte stream'
    if source:
        name = f'{source} (read {name})'
    if os.environ.get(TRUST_ENV, '0') == '1':
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    try:
        with torch.serialization.safe_globals(checkpoint_safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [ln.strip() for ln in str(err).splitlines()
                 if 'global' in ln.lower() or 'refusing' in ln.lower()]
        detail = lines[-1] if lines else str(err).splitlines()[0]
        raise RuntimeError(
            f'Could not load checkpoint {name} with the safe unpickler '
            f'(weights_only=True plus the mmengine allow-list): {detail} '
            'Nothing in the file was executed. If you trust this file, set '
            f'{TRUST_ENV}=1 to load it with weights_only=False.') from err
    except (RuntimeError, EOFError, ValueError) as err:
        raise RuntimeError(
            f'{name} is not a readable PyTorch checkpoint '
            f'(truncated or corrupt?): {err}') from err


# --------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------
def is_url(path) -> bool:
    """Whether ``path`` is an ``http://`` or ``https://`` URL."""
    return isinstance(path, str) and path.startswith(URL_PREFIXES)


def url_hash_folder(url: str) -> Optional[str]:
    """The 64-hex SHA-256 folder of a URL (OpenAI's layout,
    ``.../clip/models/<sha256>/ViT-B-16.pt``), or None."""
    parts = urlparse(url).path.split('/')
    if len(parts) >= 2 and _SHA256_RE.fullmatch(parts[-2]):
        return parts[-2]
    return None


def hash_prefix_from_name(name: str) -> Optional[str]:
    """The SHA-256 prefix in ``<stem>-<hex>.<ext>`` (torch.hub's and the
    model zoo's file names), or None."""
    match = _HASH_SUFFIX_RE.search(osp.basename(str(name)))
    return match.group(1) if match else None


def cached_download(url: str,
                    model_dir: Optional[str] = None,
                    progress: Optional[bool] = None,
                    hash_prefix: Optional[str] = None) -> str:
    """Download ``url`` into torch.hub's cache once and return the file.

    The cache is ``<torch.hub.get_dir()>/checkpoints/<file name of the
    URL>`` (``$TORCH_HOME/hub/checkpoints``), the folder and naming of
    ``torch.hub.load_state_dict_from_url``; an existing file is reused.
    Files of URLs with a SHA-256 folder (OpenAI's, whose files share plain
    names such as ``ViT-B-16.pt``) are cached as ``<sha256[:8]>-<name>`` so
    that two different files never collide.
    ``torch.hub.download_url_to_file`` writes to a temporary file and moves
    it in place, so an interrupted download leaves no partial file under the
    final name.  In a distributed run rank 0 downloads first and the other
    ranks wait for it (as mmengine's http loader does).

    Args:
        url (str): ``http(s)://`` URL.
        model_dir (str, optional): another cache folder.
        progress (bool, optional): progress bar (default: when stderr is a
            terminal).
        hash_prefix (str, optional): expected SHA-256 (or prefix) of a
            download; a mismatch raises and nothing is cached.

    Returns:
        str: the local file.
    """
    from mmengine.dist import barrier, get_dist_info
    from torch.hub import download_url_to_file, get_dir
    if not is_url(url):
        raise ValueError(f'{url!r} is not an http(s) URL')
    filename = osp.basename(urlparse(url).path)
    if not filename:
        raise ValueError(f'URL {url!r} names no file')
    folder_hash = url_hash_folder(url)
    if folder_hash is not None:
        filename = f'{folder_hash[:8]}-{filename}'
    model_dir = model_dir or osp.join(get_dir(), 'checkpoints')
    cached = osp.join(model_dir, filename)
    if progress is None:
        progress = sys.stderr.isatty()

    def fetch():
        if not osp.isfile(cached):
            os.makedirs(model_dir, exist_ok=True)
            from mmengine.logging import print_log
            print_log(f'Downloading {url} to {cached}', logger='current')
            download_url_to_file(url, cached, hash_prefix, progress=progress)

    rank, world_size = get_dist_info()
    if rank == 0:
        fetch()
    if world_size > 1:
        barrier()
        if rank > 0:
            fetch()  # another node without a shared cache
    return cached


def load_url_checkpoint(url: str, map_location=None,
                        model_dir: Optional[str] = None):
    """Download ``url`` (cached) and read it with :func:`safe_torch_load`."""
    path = cached_download(url, model_dir=model_dir)
    return safe_torch_load(path, map_location=map_location, source=url)


def load_checkpoint_file(filename, map_location=None):
    """Read a checkpoint given as a local path, an ``http(s)://`` URL or any
    other mmengine scheme, always through :func:`safe_torch_load`."""
    register_checkpoint_loaders()
    return CheckpointLoader.load_checkpoint(str(filename),
                                            map_location=map_location)


# --------------------------------------------------------------------------
# mmengine CheckpointLoader schemes (mmengine logs the name after
# ``load_from_`` as the backend)
# --------------------------------------------------------------------------
def load_from_local(filename, map_location=None):
    return safe_torch_load(osp.expanduser(filename),
                           map_location=map_location)


def load_from_http(filename, map_location=None):
    return load_url_checkpoint(filename, map_location=map_location)


def load_from_torchvision(filename, map_location=None):
    from mmengine.runner.checkpoint import get_torchvision_models
    name = filename.split('://', 1)[1]
    urls = get_torchvision_models()
    if name not in urls:
        raise KeyError(f'{filename}: torchvision has no checkpoint named '
                       f'{name!r}')
    return load_url_checkpoint(urls[name], map_location=map_location)


def load_from_openmmlab(filename, map_location=None):
    from mmengine.runner.checkpoint import (_get_mmengine_home,
                                            get_deprecated_model_names,
                                            get_external_models)
    name = filename.split('://', 1)[1]
    name = get_deprecated_model_names().get(name, name)
    urls = get_external_models()
    if name not in urls:
        raise KeyError(f'{filename}: unknown OpenMMLab checkpoint {name!r}')
    target = urls[name]
    if is_url(target):
        return load_url_checkpoint(target, map_location=map_location)
    return safe_torch_load(osp.join(_get_mmengine_home(), target),
                           map_location=map_location, source=filename)


def load_from_mmcls(filename, map_location=None):
    from mmengine.runner.checkpoint import (_process_mmcls_checkpoint,
                                            get_mmcls_models)
    name = filename.split('://', 1)[1]
    urls = get_mmcls_models()
    if name not in urls:
        raise KeyError(f'{filename}: unknown mmcls checkpoint {name!r}')
    return _process_mmcls_checkpoint(
        load_url_checkpoint(urls[name], map_location=map_location))


def load_from_ceph(filename, map_location=None):
    from mmengine.fileio import get_file_backend
    backend = get_file_backend(filename, backend_args={'backend': 'petrel'})
    with io.BytesIO(backend.get(filename)) as buffer:
        return safe_torch_load(buffer, map_location=map_location,
                               source=filename)


def load_from_pavi(filename, map_location=None):
    raise RuntimeError(
        f'{filename}: pavi:// checkpoints are not supported by sdtr (they '
        'cannot be read through its restricted loader); download the file '
        'and pass its local path.')


_SCHEMES = (
    ('', load_from_local),
    (URL_PREFIXES, load_from_http),
    (('modelzoo://', 'torchvision://'), load_from_torchvision),
    (('open-mmlab://', 'openmmlab://'), load_from_openmmlab),
    ('mmcls://', load_from_mmcls),
    ([r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], load_from_ceph),
    ('pavi://', load_from_pavi),
)

_REGISTERED = False


def register_checkpoint_loaders():
    """Route every mmengine checkpoint scheme through the restricted loader
    (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    for prefixes, loader in _SCHEMES:
        CheckpointLoader.register_scheme(
            prefixes=prefixes, loader=loader, force=True)
    _REGISTERED = True
