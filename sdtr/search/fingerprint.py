"""Content fingerprints of the model behind a gallery.

A gallery (``.safetensors`` cache or index folder, see
:mod:`sdtr.search.gallery` and :mod:`sdtr.search.index`) stores the fingerprint
of the model that computed its features:

* ``weights``: the SHA-256 of the checkpoint *file* the weights were loaded
  from (so re-training into the same ``epoch_12.pth`` changes it), or, for a
  model used with the weights it was built with, the SHA-256 of its
  in-memory ``state_dict`` (every tensor's name, dtype, shape and bytes);
* ``config``: the SHA-256 of the parts of the config that change features:
  ``cfg.model`` and the test pipeline, as canonical JSON.

Hashing a checkpoint file costs one read of it; the digest is remembered in
the process and on disk (``$SDTR_CACHE/sha256.json``, default
``~/.cache/sdtr``) under the file's absolute path, size and modification
time, so it is computed once per file version.

A gallery whose fingerprint differs from the model reading it is refused
(or, for a cache of source images, rebuilt) with a message naming both; see
``docs/inference.md``.
"""
import hashlib
import json
import os
import os.path as osp
import threading
from typing import Optional

_LOCK = threading.Lock()
_MEMO = {}
_CHUNK = 1 << 22


def _cache_file() -> str:
    base = os.environ.get('SDTR_CACHE') or '~/.cache/sdtr'
    return osp.join(osp.expanduser(base), 'sha256.json')


def _file_key(path: str) -> str:
    st = os.stat(path)
    return f'{osp.realpath(path)}|{st.st_size}|{st.st_mtime_ns}'


def _read_disk_cache() -> dict:
    try:
        with open(_cache_file(), encoding='utf-8') as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_disk_cache(key: str, digest: str) -> None:
    path = _cache_file()
    try:
        os.makedirs(osp.dirname(path), exist_ok=True)
        data = _read_disk_cache()
        # forget versions of files that no longer exist
        data = {k: v for k, v in data.items()
                if osp.exists(k.split('|', 1)[0])}
        data[key] = digest
        tmp = f'{path}.tmp-{os.getpid()}-{threading.get_ident()}'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(data, f, indent=0, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache folder only costs a re-hash next time


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's content, computed once per file version.

    The digest is cached under ``(real path, size, mtime)``: a file
    rewritten in place (new mtime or size) is hashed again.
    """
    path = str(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'cannot fingerprint {path!r}: no such file')
    key = _file_key(path)
    with _LOCK:
        if key in _MEMO:
            return _MEMO[key]
    digest = _read_disk_cache().get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(_CHUNK), b''):
                h.update(block)
        digest = h.hexdigest()
        if _file_key(path) == key:  # not rewritten while we read it
            _write_disk_cache(key, digest)
    with _LOCK:
        _MEMO[key] = digest
    return digest


def state_dict_sha256(model) -> str:
    """Hex SHA-256 of a module's ``state_dict`` (names, dtypes, shapes,
    values), in key order."""
    import torch
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous().view(-1)
        h.update(f'{name}|{t.dtype}|{tuple(tensor.shape)}|'.encode())
        if t.numel():
            h.update(t.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def config_sha256(model_cfg, pipeline_cfg) -> str:
    """Hex SHA-256 of the model config and the test pipeline (canonical
    JSON: sorted keys, tuples as lists)."""
    def plain(x):
        if hasattr(x, 'to_dict'):
            x = x.to_dict()
        if isinstance(x, dict):
            return {str(k): plain(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [plain(v) for v in x]
        return x

    text = json.dumps(dict(model=plain(model_cfg),
                           pipeline=plain(pipeline_cfg)),
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def model_fingerprint(model, pipeline_cfg) -> dict:
    """Fingerprint of a retriever built by :func:`sdtr.apis.get_model`.

    Returns:
        dict: ``weights`` (``'file:<sha256>'`` or ``'state:<sha256>'``),
        ``config`` (``'<sha256>'``) and, for information only, ``model``
        (class name) and ``checkpoint`` (the file, or None).
    """
    checkpoint = getattr(model, 'checkpoint', None)
    if checkpoint:
        weights = 'file:' + file_sha256(checkpoint)
    else:
        weights = 'state:' + state_dict_sha256(model)
    cfg = getattr(model, '_config', None)
    model_cfg = cfg.get('model') if cfg is not None else None
    return dict(weights=weights,
                config=config_sha256(model_cfg, pipeline_cfg),
                model=type(model).__name__,
                checkpoint=str(checkpoint) if checkpoint else None)


def describe(fp: Optional[dict]) -> str:
    """One-line description of a fingerprint for messages."""
    if not fp:
        return 'no fingerprint (written by an older sdtr or by hand)'
    weights = str(fp.get('weights', '?'))
    kind, _, digest = weights.partition(':')
    src = {'file': 'checkpoint sha256', 'state': 'in-memory weights sha256'}
    where = f' from {fp["checkpoint"]}' if fp.get('checkpoint') else ''
    return (f'{fp.get("model", "?")} with {src.get(kind, kind)} '
            f'{digest[:16]}{where}, config sha256 '
            f'{str(fp.get("config", "?"))[:16]}')


def fingerprint_mismatch(stored: Optional[dict],
                         current: dict) -> Optional[str]:
    """``None`` when ``stored`` matches ``current`` (weights and config),
    else a message naming both."""
    if stored and all(stored.get(k) == current.get(k)
                      for k in ('weights', 'config')):
        return None
    what = [k for k in ('weights', 'config')
            if not stored or stored.get(k) != current.get(k)]
    return (f'built by another model ({" and ".join(what)} differ): the '
            f'gallery has {describe(stored)}; the model has '
            f'{describe(current)}')
