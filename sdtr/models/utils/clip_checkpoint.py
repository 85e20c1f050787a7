"""Read open_clip-format CLIP checkpoints and load them strictly into towers.

Supported inputs (path, ``http(s)://`` URL, or a name of open_clip's
pretrained registry such as ``openclip:ViT-B-16/openai``, resolved and
verified by :mod:`sdtr.models.utils.clip_pretrained`):

* OpenAI TorchScript archives (``ViT-B-16.pt``): read with
  ``torch.jit.load(...).state_dict()``; the non-weight entries
  ``input_resolution``, ``context_length`` and ``vocab_size`` (and a traced
  ``attn_mask``) are dropped;
* plain state dicts (open_clip, RemoteCLIP, converted GeoRSCLIP), read with
  ``weights_only=True`` (:func:`sdtr.utils.compat.safe_torch_load`) or from
  ``.safetensors``;
* wrappers ``{'state_dict': ...}`` (open_clip training, mmengine) and
  ``{'model': ...}``; a leading ``module.`` (DDP) is stripped.

URLs are downloaded once into torch.hub's cache (``<hub dir>/checkpoints``).
With ``check_hash=True`` the SHA-256 is checked against the 64-hex folder in
the URL (OpenAI's layout, ``.../<sha256>/ViT-B-16.pt``) or, failing that, the
torch.hub ``name-<hash prefix>.ext`` convention; ``sha256=`` overrides both.

:func:`split_clip_state_dict` separates ``visual.*`` (image tower), the text
tower keys (``token_embedding``, ``positional_embedding``, ``transformer.*``,
``ln_final.*``, ``text_projection``; or ``text.*`` of open_clip's
``CustomTextCLIP``) and ``logit_scale``.

:func:`load_state_dict_strict` loads a tower and raises
:class:`CheckpointMismatchError` listing every missing, unexpected and
shape-mismatched key; nothing is ever loaded with ``strict=False`` silently.
Keys can be excluded on purpose with ``ignore_keys`` (regular expressions),
which are reported.
"""
import os
import os.path as osp
import re
import zipfile
from collections import OrderedDict
from typing import Dict, Iterable, Optional, Sequence, Tuple, Union
from urllib.parse import urlparse

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import nn

from .clip_pretrained import is_pretrained_name, resolve_pretrained

NON_WEIGHT_KEYS = ('input_resolution', 'context_length', 'vocab_size',
                   'attn_mask')
TEXT_KEY_PREFIXES = ('token_embedding.', 'positional_embedding',
                     'transformer.', 'ln_final.', 'text_projection')


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not match the module it is loaded into."""


# --------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------
def _is_url(path) -> bool:
    return isinstance(path, str) and path.startswith(('http://', 'https://'))


def _expected_hash(url: str) -> Optional[str]:
    parts = urlparse(url).path.split('/')
    if len(parts) >= 2 and re.fullmatch(r'[0-9a-f]{64}', parts[-2]):
        return parts[-2]
    match = re.search(r'-([a-f0-9]+)\.', parts[-1])
    return match.group(1) if match else None


def download_checkpoint(url: str,
                        check_hash: bool = False,
                        sha256: Optional[str] = None,
                        progress: bool = True) -> str:
    """Download ``url`` into torch.hub's cache (once) and return the path."""
    from torch.hub import download_url_to_file, get_dir
    parts = urlparse(url).path.split('/')
    hash_dir = parts[-2] if len(parts) >= 2 and re.fullmatch(
        r'[0-9a-f]{64}', parts[-2]) else None
    filename = parts[-1]
    # OpenAI files share plain names (ViT-B-16.pt); keep a hash prefix so
    # that two different files never collide in the cache.
    if hash_dir is not None:
        filename = f'{hash_dir[:8]}-{filename}'
    cache_dir = osp.join(get_dir(), 'checkpoints')
    os.makedirs(cache_dir, exist_ok=True)
    cached = osp.join(cache_dir, filename)
    if not osp.isfile(cached):
        hash_prefix = sha256 or (_expected_hash(url) if check_hash else None)
        print_log(f'Downloading {url} to {cached}', logger='current')
        download_url_to_file(url, cached, hash_prefix, progress=progress)
    return cached


def _is_torchscript_archive(path: str) -> bool:
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


def _unwrap(obj) -> Dict[str, torch.Tensor]:
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise TypeError(f'checkpoint is a {type(obj)}, not a state dict')
    out = OrderedDict()
    for key, value in obj.items():
        if key.startswith('module.'):
            key = key[len('module.'):]
        if key in NON_WEIGHT_KEYS:
            continue
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f'checkpoint entry {key!r} is a {type(value).__name__}, not '
                'a tensor: is this a CLIP state dict?')
        out[key] = value
    return out


def load_clip_state_dict(checkpoint: Union[str, os.PathLike, dict],
                         map_location='cpu',
                         check_hash: bool = False,
                         sha256: Optional[str] = None) -> Dict[str,
                                                               torch.Tensor]:
    """Read an open_clip-format CLIP checkpoint into a flat state dict.

    Args:
        checkpoint (str | PathLike | dict): path, URL,
            ``openclip:<arch>/<tag>`` or an in-memory state dict.
        map_location: passed to the loader.
        check_hash (bool): verify the SHA-256 of downloaded files (registry
            names are always verified).
        sha256 (str, optional): expected hash (prefix) of a download.

    Returns:
        OrderedDict[str, Tensor]: keys as in open_clip's ``CLIP`` (e.g.
        ``visual.conv1.weight``, ``token_embedding.weight``, ``logit_scale``).
    """
    if isinstance(checkpoint, dict):
        return _unwrap(checkpoint)
    path = str(checkpoint)
    if is_pretrained_name(path):
        path = resolve_pretrained(path, sha256=sha256)
    elif _is_url(path):
        path = download_checkpoint(path, check_hash=check_hash, sha256=sha256)
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'CLIP checkpoint {path!r} does not exist')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return _unwrap(load_file(path, device=str(map_location)))
    if _is_torchscript_archive(path):
        # OpenAI releases: a TorchScript archive; only its tensors are kept.
        module = torch.jit.load(path, map_location=map_location)
        return _unwrap(module.state_dict())
    from sdtr.utils.compat import safe_torch_load
    return _unwrap(safe_torch_load(path, map_location=map_location))


def split_clip_state_dict(state_dict: Dict[str, torch.Tensor]) -> dict:
    """Split a CLIP state dict into towers.

    Returns:
        dict: ``visual`` (keys without ``visual.``), ``text`` (text-tower keys
        as in open_clip's ``TextTransformer``), ``logit_scale`` (Tensor or
        None) and ``others`` (anything else, e.g. ``logit_bias``).
    """
    visual, text, others = OrderedDict(), OrderedDict(), OrderedDict()
    logit_scale = None
    for key, value in state_dict.items():
        if key.startswith('visual.'):
            visual[key[len('visual.'):]] = value
        elif key.startswith('text.'):
            text[key[len('text.'):]] = value
        elif key.startswith(TEXT_KEY_PREFIXES):
            text[key] = value
        elif key == 'logit_scale':
            logit_scale = value
        else:
            others[key] = value
    return dict(visual=visual, text=text, logit_scale=logit_scale,
                others=others)


# --------------------------------------------------------------------------
# resizing
# --------------------------------------------------------------------------
def resize_vision_pos_embed(pos_embed: torch.Tensor,
                            grid_size: Sequence[int],
                            num_prefix_tokens: int = 1,
                            old_grid_size: Optional[Sequence[int]] = None,
                            interpolation: str = 'bicubic',
                            antialias: bool = True) -> torch.Tensor:
    """Interpolate a ``[prefix + H0*W0, C]`` position table to ``grid_size``.

    The prefix (class token) rows are kept; the grid is resized with
    ``F.interpolate`` (``'bicubic'`` + antialias as open_clip,
    ``'bilinear'`` without antialias as IRRA).  ``old_grid_size`` defaults to
    a square grid.
    """
    grid_size = tuple(int(g) for g in grid_size)
    new_len = num_prefix_tokens + grid_size[0] * grid_size[1]
    if pos_embed.shape[0] == new_len:
        return pos_embed
    prefix = pos_embed[:num_prefix_tokens]
    grid = pos_embed[num_prefix_tokens:]
    if old_grid_size is None:
        side = int(round(grid.shape[0]**0.5))
        if side * side != grid.shape[0]:
            raise ValueError(
                f'cannot infer the grid of a {grid.shape[0]}-token position '
                'embedding; pass old_grid_size=(H, W)')
        old_grid_size = (side, side)
    old_grid_size = tuple(int(g) for g in old_grid_size)
    if old_grid_size[0] * old_grid_size[1] != grid.shape[0]:
        raise ValueError(f'old_grid_size {old_grid_size} does not match '
                         f'{grid.shape[0]} position rows')
    dtype = grid.dtype
    grid = grid.float().reshape(1, *old_grid_size, -1).permute(0, 3, 1, 2)
    kwargs = dict(size=grid_size, mode=interpolation)
    if interpolation in ('bilinear', 'bicubic'):
        kwargs.update(align_corners=False, antialias=antialias)
    grid = F.interpolate(grid, **kwargs)
    grid = grid.permute(0, 2, 3, 1).reshape(grid_size[0] * grid_size[1], -1)
    return torch.cat([prefix, grid.to(dtype)], dim=0)


def resize_text_pos_embed(pos_embed: torch.Tensor,
                          length: int,
                          mode: str = 'interpolate') -> torch.Tensor:
    """Resize a ``[L0, C]`` text position table to ``length`` rows.

    ``mode='interpolate'`` (default, as open_clip's ``force_context_length``)
    uses 1-D linear interpolation; ``'truncate'`` keeps the first rows (only
    when shrinking).
    """
    if pos_embed.shape[0] == length:
        return pos_embed
    if mode == 'truncate':
        if length > pos_embed.shape[0]:
            raise ValueError('cannot truncate a text position embedding of '
                             f'{pos_embed.shape[0]} rows to {length}')
        return pos_embed[:length]
    if mode != 'interpolate':
        raise ValueError(f'unknown text pos-embed resize mode {mode!r}')
    dtype = pos_embed.dtype
    x = pos_embed.float().t().unsqueeze(0)
    x = F.interpolate(x, size=length, mode='linear', align_corners=False)
    return x[0].t().to(dtype)


# --------------------------------------------------------------------------
# strict loading
# --------------------------------------------------------------------------
def _matches(key: str, patterns: Iterable[str]) -> bool:
    return any(re.search(p, key) for p in patterns)


def load_state_dict_strict(module: nn.Module,
                           state_dict: Dict[str, torch.Tensor],
                           ignore_keys: Sequence[str] = (),
                           name: Optional[str] = None,
                           source: str = '') -> dict:
    """Load ``state_dict`` into ``module``; raise on any mismatch.

    Args:
        module (nn.Module): target.
        state_dict (dict): source tensors, keys relative to ``module``.
        ignore_keys (Sequence[str]): regular expressions; matching keys are
            neither loaded nor required (they keep their current values).
        name (str): used in messages.
        source (str): checkpoint name used in messages.

    Returns:
        dict: ``loaded`` (number of tensors), ``total`` (module tensors),
        ``coverage`` (loaded / total) and ``ignored`` (keys).

    Raises:
        CheckpointMismatchError: listing missing, unexpected and
        shape-mismatched keys.
    """
    name = name or module.__class__.__name__
    target = module.state_dict()
    ignored = sorted(k for k in set(target) | set(state_dict)
                     if _matches(k, ignore_keys))
    source_sd = {k: v for k, v in state_dict.items() if k not in ignored}
    wanted = {k: v for k, v in target.items() if k not in ignored}
    missing = sorted(set(wanted) - set(source_sd))
    unexpected = sorted(set(source_sd) - set(wanted))
    mismatched = sorted(
        f'{k}: checkpoint {tuple(source_sd[k].shape)} vs model '
        f'{tuple(wanted[k].shape)}' for k in set(wanted) & set(source_sd)
        if source_sd[k].shape != wanted[k].shape)
    if missing or unexpected or mismatched:
        lines = [f'Checkpoint {source!s} does not match {name}:']
        for title, keys in (('missing keys', missing),
                            ('unexpected keys', unexpected),
                            ('shape mismatches', mismatched)):
            if keys:
                lines.append(f'  {title} ({len(keys)}): ' + ', '.join(keys))
        lines.append('Pass ignore_keys=[regex, ...] to exclude keys on '
                     'purpose; nothing was loaded.')
        raise CheckpointMismatchError('\n'.join(lines))
    incompatible = module.load_state_dict(
        {k: v for k, v in source_sd.items()}, strict=False)
    # every remaining key matched by construction
    assert not incompatible.unexpected_keys, incompatible
    report = dict(
        loaded=len(source_sd),
        total=len(target),
        coverage=len(source_sd) / max(len(target), 1),
        ignored=ignored)
    print_log(
        f'{name}: loaded {report["loaded"]}/{report["total"]} tensors '
        f'({100 * report["coverage"]:.1f}%) from {source}' +
        (f'; ignored {ignored}' if ignored else ''),
        logger='current')
    return report


def parse_pretrained(pretrained) -> Optional[dict]:
    """Normalise a ``pretrained`` argument to a dict (or None).

    ``pretrained`` may be a path/URL string or
    ``dict(checkpoint=..., **options)``.  An mmengine-style
    ``dict(type='Pretrained', checkpoint=..., prefix=...)`` is accepted too.
    """
    if pretrained is None or pretrained is False:
        return None
    if isinstance(pretrained, (str, os.PathLike)):
        return dict(checkpoint=str(pretrained))
    if isinstance(pretrained, dict):
        cfg = dict(pretrained)
        cfg.pop('type', None)
        if 'checkpoint' not in cfg:
            raise KeyError(f'pretrained needs a "checkpoint": {pretrained}')
        return cfg
    raise TypeError(f'pretrained must be a str or dict, got {pretrained!r}')


def select_prefix(state_dict: Dict[str, torch.Tensor],
                  prefix: str) -> Tuple[Dict[str, torch.Tensor], int]:
    """Keys starting with ``prefix`` (stripped) and the number selected."""
    out = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                      if k.startswith(prefix))
    return out, len(out)
