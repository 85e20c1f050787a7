"""Resolve CLIP tower architectures from open_clip's bundled model configs.

``arch`` is an open_clip model name whose JSON config ships inside the
open_clip wheel (``'ViT-B-16'``, ``'ViT-B-32'``, ``'RN50'``, ...), read
offline with :func:`open_clip.get_model_config`, or a dict with the same
layout (``embed_dim``, ``vision_cfg``, ``text_cfg``, optional
``quick_gelu``), or ``None`` when every dimension is given explicitly.

Only the options of the plain OpenAI-style towers are supported; a config
that needs anything else (timm or HF towers, attentional pooling, SigLIP
variants, ...) raises ``NotImplementedError`` instead of being silently built
as a different network.
"""
import copy
import dataclasses
from typing import Optional, Union

VISION_KEYS = ('image_size', 'layers', 'width', 'head_width', 'patch_size',
               'mlp_ratio', 'ls_init_value', 'patch_dropout', 'no_ln_pre')
TEXT_KEYS = ('context_length', 'vocab_size', 'width', 'heads', 'layers',
             'mlp_ratio', 'ls_init_value')

ACTIVATIONS = ('gelu', 'quick_gelu')


def _cfg_defaults(tower: str) -> dict:
    from open_clip.model import CLIPTextCfg, CLIPVisionCfg
    cls = CLIPVisionCfg if tower == 'vision' else CLIPTextCfg
    return {f.name: f.default for f in dataclasses.fields(cls)}


def get_clip_arch(arch: Union[str, dict, None]) -> dict:
    """Return ``dict(embed_dim, quick_gelu, vision_cfg, text_cfg)``.

    Args:
        arch (str | dict | None): open_clip model name, an equivalent dict or
            ``None`` (empty architecture: everything must be explicit).
    """
    if arch is None:
        return dict(embed_dim=None, quick_gelu=False, vision_cfg={},
                    text_cfg={})
    if isinstance(arch, str):
        import open_clip
        cfg = open_clip.get_model_config(arch)
        if cfg is None:
            names = [n for n in open_clip.list_models()
                     if n.startswith(('ViT-', 'RN'))]
            raise KeyError(
                f'unknown CLIP arch {arch!r}: not an open_clip model config. '
                f'Known plain CLIP configs include {names[:40]} ...')
    elif isinstance(arch, dict):
        cfg = copy.deepcopy(dict(arch))
    else:
        raise TypeError(f'arch must be a str, dict or None, got {type(arch)}')
    return dict(
        embed_dim=cfg.get('embed_dim'),
        quick_gelu=bool(cfg.get('quick_gelu', False)),
        vision_cfg=dict(cfg.get('vision_cfg', {})),
        text_cfg=dict(cfg.get('text_cfg', {})))


def _check_supported(cfg: dict, tower: str, supported: tuple, arch) -> None:
    defaults = _cfg_defaults(tower)
    bad = {k: v for k, v in cfg.items()
           if k not in supported and v != defaults.get(k, object())}
    if bad:
        raise NotImplementedError(
            f'CLIP arch {arch!r} {tower} options {bad} are not supported by '
            'the sdtr CLIP towers (plain OpenAI-style towers only).')


def resolve_activation(act: Optional[str], quick_gelu: bool) -> str:
    """``act`` if given, else the arch's ``quick_gelu`` flag."""
    if act is None:
        return 'quick_gelu' if quick_gelu else 'gelu'
    if act not in ACTIVATIONS:
        raise ValueError(f'act must be one of {ACTIVATIONS}, got {act!r}')
    return act


def act_layer(act: str):
    """The activation class for ``'gelu'`` / ``'quick_gelu'``."""
    from open_clip.transformer import QuickGELU
    from torch import nn
    return QuickGELU if act == 'quick_gelu' else nn.GELU


def resolve_tower_cfg(arch, tower: str, **overrides) -> dict:
    """Merge an arch's tower config with explicit overrides.

    Args:
        arch: see :func:`get_clip_arch`.
        tower (str): ``'vision'`` or ``'text'``.
        **overrides: explicit values; ``None`` means "take the arch value".
            ``embed_dim`` and ``act`` are resolved here too.

    Returns:
        dict: the tower config plus ``embed_dim`` and ``act``.
    """
    assert tower in ('vision', 'text')
    full = get_clip_arch(arch)
    cfg = full['vision_cfg' if tower == 'vision' else 'text_cfg']
    _check_supported(cfg, tower, VISION_KEYS if tower == 'vision' else
                     TEXT_KEYS, arch)
    act = overrides.pop('act', None)
    embed_dim = overrides.pop('embed_dim', None)
    for key, value in overrides.items():
        if value is not None:
            cfg[key] = value
    cfg['embed_dim'] = embed_dim if embed_dim is not None else \
        full['embed_dim']
    cfg['act'] = resolve_activation(act, full['quick_gelu'])
    if cfg['embed_dim'] is None:
        raise ValueError('embed_dim is neither given nor in the arch config')
    return cfg
