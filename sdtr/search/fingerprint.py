"""Fingerprints of the model behind a gallery.

A gallery (``.safetensors`` cache or index folder, see
:mod:`sdtr.search.gallery` and :mod:`sdtr.search.index`) stores the
fingerprint of the model that computed its features:

* ``weights``: :func:`sdtr.checkpoint.weights_identity` of the model, the
  digest of the checkpoint bytes its loader read (``'file:<digest>'``,
  recorded once, when loading), or, for a model used with the weights it
  was built with, the SHA-256 of its in-memory ``state_dict``
  (``'state:<sha256>'``).  Nothing is derived from a path, a file size or a
  modification time, and nothing re-reads the checkpoint file afterwards:
  replacing the file after loading cannot change the stamp;
* ``config``: the SHA-256 of the parts of the config that change features:
  ``cfg.model`` and the test pipeline, as canonical JSON.

A gallery whose fingerprint differs from the model reading it is refused
(or, for a cache of source images, rebuilt) with a message naming both; see
``docs/inference.md``.
"""
import hashlib
import json
from typing import Optional

from sdtr.checkpoint import weights_identity


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
        dict: ``weights`` (:func:`~sdtr.checkpoint.weights_identity`),
        ``config`` (``'<sha256>'``) and, for information only, ``model``
        (class name) and ``checkpoint`` (the file it was loaded from, or
        None).
    """
    checkpoint = getattr(model, 'checkpoint', None)
    cfg = getattr(model, '_config', None)
    model_cfg = cfg.get('model') if cfg is not None else None
    return dict(weights=weights_identity(model),
                config=config_sha256(model_cfg, pipeline_cfg),
                model=type(model).__name__,
                checkpoint=str(checkpoint) if checkpoint else None)


def describe(fp: Optional[dict]) -> str:
    """One-line description of a fingerprint for messages."""
    if not fp:
        return 'no fingerprint (written by an older sdtr or by hand)'
    weights = str(fp.get('weights', '?'))
    kind, _, digest = weights.partition(':')
    src = {'file': 'checkpoint digest', 'state': 'in-memory weights sha256'}
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
