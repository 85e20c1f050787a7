"""Compatibility fixes for the pinned OpenMMLab stack on current PyTorch.

mmengine 0.10.7 loads local checkpoints with a bare ``torch.load``.  Since
PyTorch 2.6 that means ``weights_only=True``, and every checkpoint written by
mmengine's own ``CheckpointHook`` fails to load (its ``message_hub`` holds
``HistoryBuffer`` objects and numpy arrays), which breaks ``--resume``,
``resume=True`` and ``load_from``.

The fix here keeps the safe unpickler: local files are loaded with
``weights_only=True`` and an explicit allow-list of the few classes mmengine
itself writes (``HistoryBuffer``, ``ConfigDict`` and numpy's array/dtype
reconstruction helpers).  Nothing is monkey-patched in numpy or torch, and URL
checkpoints (``http://``, ``https://``) keep mmengine's hub loader, which also
loads with ``weights_only=True`` under torch >= 2.6.

A checkpoint that needs any other class fails with an error naming the class.
Users who trust such a file can set ``SDTR_TRUST_CHECKPOINTS=1`` to load local
files with ``weights_only=False``.
"""
import os
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader

TRUST_ENV = 'SDTR_TRUST_CHECKPOINTS'


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


def safe_torch_load(filename, map_location=None):
    """``torch.load`` with ``weights_only=True`` and the mmengine allow-list.

    Args:
        filename (str | file-like): checkpoint to read.
        map_location: same as :func:`torch.load`.

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file needs a class outside the allow-list, or is not
            a torch checkpoint; the message names the file and the class.
    """
    if isinstance(filename, (str, os.PathLike)) and not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
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
            f'Could not load checkpoint {filename!r} with the safe unpickler '
            f'(weights_only=True plus the mmengine allow-list): {detail} '
            f'If you trust this file, set {TRUST_ENV}=1 to load it with '
            'weights_only=False.') from err
    except (RuntimeError, EOFError, ValueError) as err:
        raise RuntimeError(
            f'{filename!r} is not a readable PyTorch checkpoint '
            f'(truncated or corrupt?): {err}') from err


def _load_from_local(filename, map_location):
    filename = osp.expanduser(filename)
    return safe_torch_load(filename, map_location=map_location)


_REGISTERED = False


def register_checkpoint_loaders():
    """Replace mmengine's loader of local checkpoint files (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    CheckpointLoader.register_scheme(
        prefixes='', loader=_load_from_local, force=True)
    _REGISTERED = True
