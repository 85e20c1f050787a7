"""Swin Transformer checkpoints -> mmpretrain's ``SwinTransformer`` keys.

:func:`convert_swin_checkpoint` is the key converter of
:class:`~sdtr.models.backbones.SwinTransformerEncoder`: it takes the backbone
part of an mmpretrain classifier (``backbone.*``) or of an sdtr checkpoint
(``swin.*``, ``image_encoder.swin.*``), converts Microsoft's release
(below), and resizes relative-position bias tables to the window size.

Microsoft's release (``swin_tiny_patch4_window7_224{,_22k}.pth``, PIR-ITR's
vision init, docs/methods/pir.md#2-encoders) stores ``{'model': state_dict}``
with keys ``patch_embed.proj.*``, ``layers.<i>.blocks.<j>.attn.qkv.*``,
``layers.<i>.blocks.<j>.mlp.fc1.*``, ``layers.<i>.downsample.*``, ``norm.*``
and ``head.*``.  mmpretrain's :class:`~mmpretrain.models.SwinTransformer`
(which sdtr composes) names them ``patch_embed.projection.*``,
``stages.<i>.blocks.<j>.attn.w_msa.qkv.*``, ``...ffn.layers.0.0.*``,
``stages.<i>.downsample.*`` and ``norm<last>.*``.

Patch merging concatenates the four 2x2 neighbours in the order
``(0,0), (1,0), (0,1), (1,1)`` (row, column) in Microsoft's code, while
mmpretrain's ``nn.Unfold`` yields channel-major ``(c, row, column)``; the
reduction weight and norm of every downsample layer are permuted here
accordingly (checked against an independent implementation in the tests).

Dropped on purpose and reported: the classifier ``head.*``, the
``attn_mask`` buffers and ``relative_position_index`` buffers (both are
recomputed from the window size by the model).
"""
import re
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

from sdtr.checkpoint import LoadReport, select_prefix

#: prefixes of the Swin backbone in classifier / sdtr checkpoints
BACKBONE_PREFIXES = ('backbone.', 'swin.', 'image_encoder.swin.')
_NOT_WEIGHTS = 'classifier head, attention masks, relative-position indices'

_MS_PATTERNS = (re.compile(r'^layers\.\d+\.blocks\.'),
                re.compile(r'^patch_embed\.proj\.'))


def is_microsoft_swin(state_dict: Dict[str, torch.Tensor]) -> bool:
    """True when ``state_dict`` uses Microsoft's Swin key layout."""
    return any(p.match(k) for k in state_dict for p in _MS_PATTERNS)


def _merge_order_weight(w: torch.Tensor) -> torch.Tensor:
    out_c, in_c = w.shape
    w = w.reshape(out_c, 4, in_c // 4)[:, [0, 2, 1, 3], :]
    return w.transpose(1, 2).reshape(out_c, in_c)


def _merge_order_vector(v: torch.Tensor) -> torch.Tensor:
    in_c = v.shape[0]
    v = v.reshape(4, in_c // 4)[[0, 2, 1, 3], :]
    return v.transpose(0, 1).reshape(in_c)


def convert_microsoft_swin(state_dict: Dict[str, torch.Tensor],
                           num_stages: int = 4
                           ) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Rename (and permute) a Microsoft Swin state dict for mmpretrain.

    Args:
        state_dict (dict): Microsoft keys (``layers.*``; a ``model`` wrapper
            must already be removed).
        num_stages (int): number of stages; the final ``norm`` becomes
            ``norm<num_stages - 1>``.

    Returns:
        tuple: the converted state dict and the sorted list of dropped keys.

    Raises:
        KeyError: a key that is neither converted nor one of the dropped
            kinds (so nothing is lost silently).
    """
    out = OrderedDict()
    dropped, unknown = [], []
    for key, value in state_dict.items():
        if key.startswith('head.') or key.endswith('attn_mask') or \
                key.endswith('relative_position_index'):
            dropped.append(key)
            continue
        new = key
        if new.startswith('patch_embed.proj.'):
            new = new.replace('patch_embed.proj.', 'patch_embed.projection.')
        elif new.startswith('patch_embed.norm.'):
            pass
        elif new.startswith('norm.'):
            new = f'norm{num_stages - 1}.' + new[len('norm.'):]
        elif new.startswith('layers.'):
            new = 'stages.' + new[len('layers.'):]
            new = new.replace('.attn.', '.attn.w_msa.')
            new = new.replace('.mlp.fc1.', '.ffn.layers.0.0.')
            new = new.replace('.mlp.fc2.', '.ffn.layers.1.')
            if '.downsample.reduction.' in new:
                value = _merge_order_weight(value)
            elif '.downsample.norm.' in new:
                value = _merge_order_vector(value)
        else:
            unknown.append(key)
            continue
        out[new] = value
    if unknown:
        raise KeyError('not a Microsoft Swin Transformer state dict: unknown '
                       f'keys {sorted(unknown)}')
    return out, sorted(dropped)


def convert_swin_checkpoint(state_dict: Dict[str, torch.Tensor],
                            report: LoadReport,
                            own: Dict[str, torch.Tensor],
                            num_stages: int) -> Dict[str, torch.Tensor]:
    """Map a Swin checkpoint onto mmpretrain's ``SwinTransformer`` keys.

    Args:
        own (dict): the target Swin's state dict (shapes of the
            relative-position tables; its recomputed indices are kept).
        num_stages (int): stages of the target Swin.
    """
    if not is_microsoft_swin(state_dict):
        for prefix in BACKBONE_PREFIXES:
            if any(k.startswith(prefix) for k in state_dict):
                state_dict = select_prefix(state_dict, prefix, report)
                break
    if is_microsoft_swin(state_dict):
        report.layout = 'microsoft'
        state_dict, dropped = convert_microsoft_swin(state_dict, num_stages)
        report.drop(dropped, _NOT_WEIGHTS)
    else:
        report.layout = 'mmpretrain'
        state_dict = OrderedDict(state_dict)
        dropped = [k for k in state_dict if k.startswith('head.') or
                   k.endswith(('attn_mask', 'relative_position_index'))]
        report.drop(dropped, _NOT_WEIGHTS)
        for key in dropped:
            state_dict.pop(key)
        if 'norm.weight' in state_dict:  # old mmcls layout
            for s in ('weight', 'bias'):
                state_dict[f'norm{num_stages - 1}.{s}'] = state_dict.pop(
                    f'norm.{s}')
    from mmpretrain.models.utils import resize_relative_position_bias_table
    for key, value in list(state_dict.items()):
        if key.endswith('relative_position_bias_table') and key in own \
                and value.shape != own[key].shape \
                and value.shape[1] == own[key].shape[1]:
            src, dst = int(value.shape[0]**0.5), int(own[key].shape[0]**0.5)
            state_dict[key] = resize_relative_position_bias_table(
                src, dst, value, value.shape[1])
            report.note(f'{key} resized from {src}x{src} to {dst}x{dst}')
    report.keep((k for k in own if k.endswith('relative_position_index')),
                'recomputed from the window size')
    return state_dict
