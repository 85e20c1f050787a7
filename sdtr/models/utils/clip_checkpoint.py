"""Key layouts of CLIP checkpoints and their conversion to sdtr's towers.

A CLIP checkpoint (OpenAI archive, open_clip / RemoteCLIP state dict,
``.safetensors``, ``openclip:<arch>/<tag>``) holds, in open_clip's names, the
image tower under ``visual.*``, the text tower (``token_embedding``,
``positional_embedding``, ``transformer.*``, ``ln_final.*``,
``text_projection``, or ``text.*`` in ``CustomTextCLIP``), ``logit_scale``,
and in OpenAI's archives the constants :data:`TORCHSCRIPT_CONSTANTS`.  Other
layouts are renamed first (:data:`CLIP_LAYOUTS`: GeoRSCLIP's
``image_backbone.*`` / ``text_backbone.*``, as its ``convert_weight.py``
does); position tables are resized to the tower (a 14x14 ViT-B/16 grid to
24x8 for 384x128 person crops: bicubic + antialias as open_clip, or IRRA's
bilinear).  :func:`clip_tower_state_dict` serves one tower,
:func:`convert_clip_checkpoint` a whole model (CLIPRetriever,
``tools/model_converters/openclip_to_sdtr.py``).
"""
from collections import OrderedDict
from typing import Callable, Dict, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from sdtr.checkpoint import LoadReport

StateDict = Dict[str, torch.Tensor]
#: entries of OpenAI's TorchScript archives that are not weights
TORCHSCRIPT_CONSTANTS = ('input_resolution', 'context_length', 'vocab_size',
                         'attn_mask')

TEXT_KEY_PREFIXES = ('token_embedding.', 'positional_embedding',
                     'transformer.', 'ln_final.', 'text_projection')


# --------------------------------------------------------------------------
# layouts
# --------------------------------------------------------------------------
def _is_georsclip(state_dict: StateDict) -> bool:
    return any(k.startswith(('image_backbone.', 'text_backbone.'))
               for k in state_dict)


def _from_georsclip(state_dict: StateDict) -> StateDict:
    out = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith('image_backbone.'):
            key = 'visual.' + key[len('image_backbone.'):]
        elif key.startswith('text_backbone.'):
            key = key[len('text_backbone.'):]
        out[key] = value
    return out


#: layout name -> (detect, rename to open_clip's keys)
CLIP_LAYOUTS: Dict[str, Tuple[Callable, Callable]] = {
    'georsclip': (_is_georsclip, _from_georsclip),
}


def detect_clip_layout(state_dict: StateDict) -> str:
    """``'openclip'`` (also OpenAI, RemoteCLIP) or a :data:`CLIP_LAYOUTS`
    name."""
    for name, (detect, _) in CLIP_LAYOUTS.items():
        if detect(state_dict):
            return name
    return 'openclip'


def to_openclip_keys(state_dict: StateDict, report: LoadReport,
                     layout: str = 'auto') -> StateDict:
    """Rename ``state_dict`` to open_clip's keys; drop OpenAI's constants."""
    layout = detect_clip_layout(state_dict) if layout == 'auto' else layout
    if layout != 'openclip':
        if layout not in CLIP_LAYOUTS:
            raise ValueError(f'unknown CLIP checkpoint layout {layout!r}; '
                             f'expected auto, openclip or '
                             f'{", ".join(CLIP_LAYOUTS)}')
        state_dict = CLIP_LAYOUTS[layout][1](state_dict)
    report.layout = report.layout or layout  # a tower's part: keep
    report.drop((k for k in state_dict if k in TORCHSCRIPT_CONSTANTS),
                'OpenAI archive constants')
    return OrderedDict((k, v) for k, v in state_dict.items()
                       if k not in TORCHSCRIPT_CONSTANTS)


def split_clip_state_dict(state_dict: StateDict) -> dict:
    """Split open_clip keys into ``visual`` (without ``visual.``), ``text``
    (open_clip ``TextTransformer`` keys), ``logit_scale`` (Tensor or None)
    and ``others`` (anything else, e.g. ``logit_bias``)."""
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


def clip_tower_state_dict(state_dict: StateDict, report: LoadReport,
                          tower: str) -> StateDict:
    """The ``tower`` (``'visual'`` or ``'text'``) part of a CLIP checkpoint.

    A checkpoint with ``visual.*`` or ``text.*`` keys is a whole CLIP: the
    tower's part is taken and the rest is reported as dropped.  Otherwise it
    is a bare tower state dict, used as it is.
    """
    state_dict = to_openclip_keys(state_dict, report)
    if not any(k.startswith(('visual.', 'text.')) for k in state_dict):
        return state_dict
    parts = split_clip_state_dict(state_dict)
    other = 'text' if tower == 'visual' else 'visual'
    report.drop(list(parts[other]), f'the CLIP {other} tower')
    report.drop(['logit_scale'] if parts['logit_scale'] is not None else [],
                'CLIP logit_scale (a model-level parameter)')
    report.drop(list(parts['others']), 'other CLIP parts')
    return parts[tower]


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


def resize_vision_pos_key(state_dict: StateDict, report: LoadReport,
                          key: str, grid_size: Sequence[int], rows: int,
                          **options) -> StateDict:
    """Resize ``state_dict[key]`` (an image tower's position table) to
    ``rows = 1 + H * W`` rows of ``grid_size`` and note it in ``report``."""
    value = state_dict.get(key)
    if value is not None and value.ndim == 2 and value.shape[0] != rows:
        state_dict[key] = resize_vision_pos_embed(value, grid_size,
                                                  num_prefix_tokens=1,
                                                  **options)
        report.note(f'{key} resized from {value.shape[0]} to {rows} rows '
                    f'({options.get("interpolation", "bicubic")})')
    return state_dict


# --------------------------------------------------------------------------
# whole checkpoints
# --------------------------------------------------------------------------
def logit_scale_targets(model: nn.Module) -> Dict[str, torch.Size]:
    """The model keys that take a CLIP checkpoint's ``logit_scale``, with
    their shapes: the model's own ``logit_scale`` parameter (open_clip's
    name), else each loss's learnable ``logit_scale`` (``losses.<name>.``;
    models that keep the temperature inside their losses)."""
    own = getattr(model, 'logit_scale', None)
    if isinstance(own, nn.Parameter):
        return {'logit_scale': own.shape}
    losses = getattr(model, 'losses', None) or {}
    return {
        f'losses.{name}.logit_scale': loss.logit_scale.shape
        for name, loss in losses.items()
        if isinstance(getattr(loss, 'logit_scale', None), nn.Parameter)
    }


def convert_clip_checkpoint(state_dict: StateDict,
                            report: LoadReport,
                            towers: Dict[str, nn.Module],
                            scale_targets: Dict[str, torch.Size],
                            load_logit_scale: bool = True,
                            layout: str = 'auto',
                            **tower_options) -> StateDict:
    """Map a whole CLIP checkpoint onto a model.

    Args:
        towers (dict): model prefix (``'image_encoder.'``) -> CLIP tower (its
            ``clip_tower`` says which part it takes; its
            ``convert_state_dict`` resizes the position tables).
        scale_targets (dict): model keys (and shapes) that take
            ``logit_scale`` (:func:`logit_scale_targets`).
        load_logit_scale (bool): copy ``logit_scale`` (False: the model
            keeps its initial temperature).
        layout (str): ``'auto'``, ``'openclip'`` or a :data:`CLIP_LAYOUTS`
            name.
        **tower_options: each tower's ``convert_state_dict`` options.

    Keys of no tower other than ``logit_scale`` are passed on unchanged, so
    that a strict load reports them as unexpected.
    """
    parts = split_clip_state_dict(to_openclip_keys(state_dict, report,
                                                   layout))
    out = OrderedDict()
    for prefix, tower in towers.items():
        mine = tower.pretrained_options()
        opts = {k: tower_options.pop(k) for k in list(tower_options)
                if k in mine}
        converted = tower.convert_state_dict(parts[tower.clip_tower],
                                             report, **opts)
        out.update((prefix + k, v) for k, v in converted.items())
    if tower_options:
        raise TypeError(f'unknown pretrained options {sorted(tower_options)}')
    scale = parts['logit_scale']
    if scale is None or not load_logit_scale:
        why = 'load_logit_scale=False' if scale is not None else \
            'the checkpoint has no logit_scale'
        report.keep(scale_targets, why)
        report.drop(['logit_scale'] if scale is not None else [], why)
    elif not scale_targets:
        report.drop(['logit_scale'], 'the model has no learnable logit scale')
    else:
        for key, shape in scale_targets.items():
            out[key] = scale.reshape(shape)
        report.note(f'logit_scale (exp {float(scale.exp()):.4g}) -> '
                    f'{", ".join(scale_targets)}')
    out.update(parts['others'])
    return out
