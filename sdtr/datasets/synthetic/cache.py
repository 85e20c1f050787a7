"""Cache folders for generated data, written atomically."""
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Optional

META_FILE = 'meta.json'


def cache_root() -> Path:
    """``$SDTR_CACHE/synthetic`` (default ``~/.cache/sdtr/synthetic``)."""
    base = os.environ.get('SDTR_CACHE') or '~/.cache/sdtr'
    return Path(base).expanduser() / 'synthetic'


def params_hash(params: dict) -> str:
    """Short stable hash of generator parameters."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def materialize(name: str, version: int, params: dict,
                writer: Callable[[Path], dict],
                out_dir: Optional[str] = None, force: bool = False) -> Path:
    """Return a folder holding the generated data, generating it once.

    The data are written by ``writer(tmp_dir) -> extra_meta`` into a private
    temporary sibling folder, then ``meta.json`` is added and the folder is
    renamed into place in one atomic ``rename``.  Concurrent callers (data
    loader workers, distributed ranks) may all generate; the first rename
    wins and the others discard their copy, so readers never see a partial
    folder.

    Args:
        name (str): dataset name, part of the cache folder name.
        version (int): generator version (bump when the output changes).
        params (dict): generator parameters (json-able); hashed into the
            folder name and stored in ``meta.json``.
        writer (callable): writes the files into the folder it is given.
        out_dir (str, optional): explicit target folder instead of
            ``cache_root()/<name>-v<version>-<hash>``.
        force (bool): regenerate even if a complete folder exists.
    """
    full = dict(params, name=name, version=version)
    final = (Path(out_dir).expanduser() if out_dir else
             cache_root() / f'{name}-v{version}-{params_hash(full)}')
    meta_path = final / META_FILE
    if meta_path.is_file() and not force:
        with open(meta_path) as f:
            meta = json.load(f)
        if meta.get('params') == json.loads(json.dumps(full, default=str)):
            return final
        raise FileExistsError(
            f'{final} holds synthetic data generated with other parameters '
            f'({meta.get("params")}); use another out_dir or force=True')
    if final.exists() and any(final.iterdir()) and not meta_path.is_file():
        raise FileExistsError(
            f'{final} exists, is not empty and is not a synthetic dataset '
            'folder; refusing to overwrite it')
    final.parent.mkdir(parents=True, exist_ok=True)
    tag = f'{os.getpid()}-{uuid.uuid4().hex[:8]}'
    tmp = final.parent / f'.{final.name}.tmp-{tag}'
    tmp.mkdir(parents=True)
    try:
        extra = writer(tmp) or {}
        meta = dict(params=json.loads(json.dumps(full, default=str)), **extra)
        with open(tmp / META_FILE, 'w') as f:
            json.dump(meta, f, indent=1, sort_keys=True)
        if final.exists():
            if force or not any(final.iterdir()):
                trash = final.parent / (f'.{final.name}.old-'
                                        f'{uuid.uuid4().hex[:8]}')
                try:
                    os.rename(final, trash)
                    shutil.rmtree(trash, ignore_errors=True)
                except OSError:
                    pass
        try:
            os.rename(tmp, final)
        except OSError:
            # another process finished first: keep its copy
            if not meta_path.is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final
