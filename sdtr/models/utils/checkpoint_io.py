"""Read any weights file into a flat state dict (no model needed).

:func:`read_state_dict` is the one reader behind every pretrained load of
sdtr (:func:`sdtr.models.utils.load_weights`).  It accepts

* a local path: a PyTorch pickle read by the restricted loader
  (:func:`sdtr.utils.compat.safe_torch_load`, ``weights_only=True`` plus
  mmengine's allow-list: no code in the file runs), a ``.safetensors`` file,
  or a TorchScript archive (OpenAI's CLIP releases; the tensors of
  ``torch.jit.load(...).state_dict()`` except the constants
  ``input_resolution``, ``context_length``, ``vocab_size`` and a traced
  ``attn_mask``, which are not weights);
* a local Hugging Face model folder (``config.json`` + ``model.safetensors``
  or ``pytorch_model.bin``) or ``pkg://<package>/<folder>``
  (:mod:`sdtr.models.utils.hf_model_dir`);
* an ``http(s)://`` URL, downloaded once into torch.hub's cache
  (:func:`sdtr.utils.compat.cached_download`); ``check_hash=True`` checks the
  SHA-256 written in the URL (OpenAI's ``.../<sha256>/ViT-B-16.pt`` or the
  torch.hub ``name-<hash prefix>.ext`` convention), ``sha256=`` gives it;
* a name of open_clip's pretrained registry, ``openclip:<arch>/<tag>``,
  resolved and verified by :mod:`sdtr.models.utils.clip_pretrained`;
* an in-memory state dict or ``nn.Module``.

Containers are unwrapped the same way for every file: ``{'state_dict':
...}`` (mmengine, open_clip training) or ``{'model': ...}`` (torchvision
style, Microsoft Swin, IRRA), and a leading ``module.`` (DDP) is stripped.
Every value must then be a tensor.  Which keys mean what is left to the
component's key converter (``convert_state_dict``).
"""
import os
import os.path as osp
import zipfile
from collections import OrderedDict
from typing import Dict, Optional, Union
from urllib.parse import urlparse

import torch
from torch import nn

StateDict = Dict[str, torch.Tensor]
CONTAINER_KEYS = ('state_dict', 'model')
#: entries of OpenAI's TorchScript archives that are not weights
TORCHSCRIPT_CONSTANTS = ('input_resolution', 'context_length', 'vocab_size',
                         'attn_mask')


def describe_source(checkpoint) -> str:
    """The name of a checkpoint in messages (``'<state dict>'`` for
    in-memory weights)."""
    if isinstance(checkpoint, (str, os.PathLike)):
        return str(checkpoint)
    return '<state dict>'


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript zip archive (it has ``code/`` or a
    ``constants.pkl``, which a ``torch.save`` file has not)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            parts = name.split('/')
            if len(parts) > 2 and parts[1] == 'code':
                return True
            if len(parts) == 2 and parts[1] == 'constants.pkl':
                return True
    return False


def unwrap_state_dict(obj, source: str = '<state dict>') -> StateDict:
    """Flat ``{key: tensor}`` of a checkpoint object (see module doc)."""
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    for key in CONTAINER_KEYS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise TypeError(f'{source}: the checkpoint is a {type(obj).__name__}'
                        ', not a state dict')
    out = OrderedDict()
    for key, value in obj.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f'{source}: checkpoint entry {key!r} is a '
                f'{type(value).__name__}, not a tensor; expected a state '
                f"dict (optionally inside {{'state_dict'|'model': ...}})")
        out[key] = value
    return out


def hash_prefix_from_url(url: str) -> Optional[str]:
    """The SHA-256 (prefix) a URL names: OpenAI's ``.../<64 hex>/file`` or
    the torch.hub ``name-<hex>.ext`` convention; None when it names none."""
    from sdtr.utils.compat import hash_prefix_from_name, url_hash_folder
    return url_hash_folder(url) or hash_prefix_from_name(urlparse(url).path)


def local_file(checkpoint: str, check_hash: bool = False,
               sha256: Optional[str] = None) -> str:
    """A local file (or folder) for a path, URL or open_clip registry
    name."""
    from sdtr.utils.compat import cached_download, is_url
    from .clip_pretrained import is_pretrained_name, resolve_pretrained
    if is_pretrained_name(checkpoint):
        return resolve_pretrained(checkpoint, sha256=sha256)
    if is_url(checkpoint):
        expected = sha256
        if expected is None and check_hash:
            expected = hash_prefix_from_url(checkpoint)
            if expected is None:
                raise ValueError(
                    f'check_hash=True, but {checkpoint} names no SHA-256 '
                    '(neither a .../<sha256>/ folder nor a name-<hash>.ext '
                    'file name); pass sha256=<hex digest>')
        return cached_download(checkpoint, hash_prefix=expected)
    path = osp.expanduser(checkpoint)
    if not osp.exists(path):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    return path


def read_state_dict(checkpoint: Union[str, os.PathLike, dict, nn.Module],
                    check_hash: bool = False,
                    sha256: Optional[str] = None,
                    map_location='cpu') -> StateDict:
    """Read ``checkpoint`` (see the module doc) into a flat state dict.

    Args:
        checkpoint: path, folder, URL, ``openclip:<arch>/<tag>``, state dict
            or module.
        check_hash (bool): verify a download against the SHA-256 in its URL.
        sha256 (str, optional): expected SHA-256 (or prefix) of a download.
        map_location: passed to the loader.

    Raises:
        FileNotFoundError: the file does not exist.
        TypeError: the file holds something other than a state dict.
        RuntimeError: the restricted loader refused the file, or a download
            has the wrong hash.
    """
    if isinstance(checkpoint, (dict, nn.Module)):
        return unwrap_state_dict(checkpoint)
    source = str(checkpoint)
    path = local_file(source, check_hash=check_hash, sha256=sha256)
    if osp.isdir(path):
        from .hf_model_dir import find_weights_file
        path = find_weights_file(path)
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        obj = load_file(path, device=str(map_location))
    elif is_torchscript_archive(path):
        obj = {k: v for k, v in torch.jit.load(
            path, map_location=map_location).state_dict().items()
            if k not in TORCHSCRIPT_CONSTANTS}
    else:
        from sdtr.utils.compat import safe_torch_load
        obj = safe_torch_load(path, map_location=map_location)
    return unwrap_state_dict(obj, source)
