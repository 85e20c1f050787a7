"""Resolve and read model-zoo checkpoints: cache, hash check, offline mode.

Published sdtr checkpoints are named ``<name>_<YYYYMMDD>-<sha256[:8]>.pth``
(``tools/model_converters/publish_model.py``) and the zoo records the
**full** SHA-256 of each file next to its URL (``Weights SHA256`` in the
metafile, see ``docs/inference.md``).

* URLs are downloaded once into torch.hub's cache (``<hub dir>/checkpoints``,
  :func:`sdtr.utils.compat.cached_download`);
* offline mode (``offline_dir=`` argument or the ``SDTR_OFFLINE_DIR``
  environment variable) maps every URL to ``<offline_dir>/<file name>``;
  nothing is downloaded and a missing file is an error naming the URL, the
  file and where it was looked for;
* hash checks: a zoo download (``get_model(name, pretrained=True)``) is
  always verified against its recorded full SHA-256, also when it is
  already cached or comes from the offline folder.  A path or URL given by
  the user is checked only on request: ``sha256=<hex>`` (full digest or a
  prefix of at least 8 digits) or ``check_hash=True`` (the torch.hub
  ``<name>-<hash prefix>.<ext>`` convention; a name without such a suffix
  is then an error, never a silent pass).  A local file whose name merely
  ends in ``-<hex>`` is not rejected by its name;
* files are read with ``weights_only=True``
  (:func:`sdtr.utils.compat.safe_torch_load`): no code in a checkpoint runs.
"""
import hashlib
import os
import os.path as osp
import re
from typing import Dict, Optional
from urllib.parse import urlparse

import torch

from sdtr.utils.compat import hash_prefix_from_name, is_url
from sdtr.utils.errors import SdtrError

OFFLINE_ENV = 'SDTR_OFFLINE_DIR'
_HEX_RE = re.compile(r'[0-9a-f]{8,64}')


class ChecksumError(SdtrError, RuntimeError):
    """A checkpoint's SHA-256 does not match the expected digest."""


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def verify_hash(path: str, expected: Optional[str] = None) -> str:
    """Check the SHA-256 of ``path``.

    Args:
        path (str): local file.
        expected (str, optional): the full hex digest or a prefix of at
            least 8 hex digits; default: the prefix in the file name
            (``<stem>-<hex>.<ext>``).

    Returns:
        str: the full digest of the file.

    Raises:
        ChecksumError: the digest does not match, or there is nothing to
            compare with (no ``expected`` and no hash suffix in the name).
    """
    if expected is None:
        expected = hash_prefix_from_name(path)
        if expected is None:
            raise ChecksumError(
                f'cannot verify {path!r}: its name has no "-<sha256 prefix>" '
                'suffix and no SHA-256 was given; pass sha256=<hex digest> '
                'or do not ask for a hash check.')
    expected = str(expected).strip().lower()
    if not _HEX_RE.fullmatch(expected):
        raise ValueError(f'expected SHA-256 {expected!r} is not 8-64 hex '
                         'digits')
    actual = sha256_file(path)
    if not actual.startswith(expected):
        raise ChecksumError(
            f'checkpoint {path!r}: SHA-256 is {actual}, but {expected} was '
            'expected; the file is corrupt, truncated or not the published '
            'one. Delete it and download it again.')
    return actual


def offline_dir_from(offline_dir: Optional[str] = None) -> Optional[str]:
    """``offline_dir`` or ``$SDTR_OFFLINE_DIR`` (None when neither)."""
    return offline_dir or os.environ.get(OFFLINE_ENV) or None


def resolve_checkpoint(checkpoint: str,
                       offline_dir: Optional[str] = None,
                       check_hash: bool = False,
                       sha256: Optional[str] = None) -> str:
    """Return a local (verified, where asked) path for a path or URL.

    Args:
        checkpoint (str): local path or ``http(s)://`` URL.
        offline_dir (str, optional): folder that replaces the download
            location of every URL (default ``$SDTR_OFFLINE_DIR``).
        check_hash (bool): verify the SHA-256 prefix in the file name
            (torch.hub convention); a name without one is an error.
        sha256 (str, optional): expected SHA-256 (full digest, or a prefix
            of at least 8 hex digits); verified whatever ``check_hash``.

    Raises:
        FileNotFoundError: a local file, or the offline copy of a URL, is
            missing (the message names the file and where it looked).
        ChecksumError: see :func:`verify_hash`.
    """
    checkpoint = str(checkpoint)
    if is_url(checkpoint):
        name = osp.basename(urlparse(checkpoint).path)
        folder = offline_dir_from(offline_dir)
        if folder is not None:
            path = osp.join(osp.expanduser(folder), name)
            if not osp.isfile(path):
                how = ('offline_dir argument' if offline_dir else
                       f'${OFFLINE_ENV}')
                raise FileNotFoundError(
                    f'offline mode: {checkpoint} maps to {path!r}, which does '
                    f'not exist (looked in {folder!r}, set by the {how}). '
                    f'Copy {name!r} there, or unset {OFFLINE_ENV} to '
                    'download it.')
        else:
            from sdtr.utils.compat import cached_download
            path = cached_download(checkpoint)
    else:
        path = osp.expanduser(checkpoint)
        if not osp.isfile(path):
            raise FileNotFoundError(f'checkpoint file {path!r} does not exist')
    if sha256 is not None:
        verify_hash(path, sha256)
    elif check_hash:
        verify_hash(path)
    return path


def load_model_state_dict(checkpoint: str,
                          offline_dir: Optional[str] = None,
                          check_hash: bool = False,
                          sha256: Optional[str] = None,
                          map_location='cpu') -> Dict[str, torch.Tensor]:
    """Read the model weights of an sdtr checkpoint (path or URL).

    Accepts a published/Runner checkpoint (``{'state_dict': ..., 'meta':
    ...}``) or a bare state dict; a leading ``module.`` (DDP) is stripped
    (:func:`sdtr.models.utils.read_state_dict`).  ``check_hash``/``sha256``:
    see :func:`resolve_checkpoint`.
    """
    from sdtr.models.utils import read_state_dict
    path = resolve_checkpoint(checkpoint, offline_dir, check_hash, sha256)
    return read_state_dict(path, map_location=map_location)
