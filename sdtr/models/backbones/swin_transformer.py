"""Swin Transformer image encoder returning the pooled token + local tokens.

PIR-ITR's vision backbone (PIR §IV-A; docs/methods/pir.md#2-encoders): a
Swin-T whose output is the average-pooled token followed by the final grid
tokens,

.. math::  F = [\\tfrac{1}{HW}\\sum_{p} x_p;\\; x_1; \\dots; x_{HW}]
           \\in R^{(1 + HW) \\times C}

(``1 + 7x7 = 50`` tokens of width 768 for Swin-T at 224 px).  The network is
mmpretrain's :class:`~mmpretrain.models.SwinTransformer`, composed, not
re-implemented.

Pretrained weights (``pretrained=dict(checkpoint=...)``, read in
:meth:`init_weights`) may be Microsoft's release (``{'model': ...}``,
``layers.*`` keys; converted by
:func:`sdtr.models.utils.swin_checkpoint.convert_microsoft_swin`), an
mmpretrain classifier checkpoint (``backbone.*`` keys) or the output of
``tools/model_converters/swin_to_sdtr.py``.  Loading is strict: every
backbone tensor must be present (key-coverage check) and every checkpoint
key used, except the keys dropped on purpose (classifier head, attention
masks and relative-position indices, which are recomputed) and
``ignore_keys``; relative-position bias tables are resized when the window
size differs.
"""
from typing import Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule

from sdtr.registry import MODELS
from ..utils.clip_checkpoint import (load_clip_state_dict,
                                     load_state_dict_strict, parse_pretrained,
                                     select_prefix)
from ..utils.swin_checkpoint import convert_microsoft_swin, is_microsoft_swin


@MODELS.register_module()
class SwinTransformerEncoder(BaseModule):
    """mmpretrain Swin Transformer with PIR's token output.

    Args:
        arch (str | dict): mmpretrain arch (``'tiny'``) or a dict with
            ``embed_dims``, ``depths``, ``num_heads``.
        img_size (int): input size (224).
        patch_size (int): patch size (4).
        window_size (int): attention window (7).
        drop_path_rate (float): stochastic depth (0.1 in PIR-ITR).
        pretrained (str | dict, optional): ``dict(checkpoint=..., prefix=None,
            ignore_keys=[regex])``, loaded strictly in :meth:`init_weights`.
        frozen_stages (int): mmpretrain option (-1: train everything).
        with_cp (bool): gradient checkpointing of every Swin block
            (mmpretrain's option: activations are recomputed in the
            backward pass; same outputs and gradients, less memory).
        init_cfg (dict, optional): mmengine init config.
        **kwargs: other :class:`mmpretrain.models.SwinTransformer` arguments.
    """

    def __init__(self,
                 arch: Union[str, dict] = 'tiny',
                 img_size: int = 224,
                 patch_size: int = 4,
                 window_size: int = 7,
                 drop_path_rate: float = 0.1,
                 pretrained: Union[str, dict, None] = None,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None,
                 **kwargs):
        super().__init__(init_cfg=init_cfg)
        from mmpretrain.models import SwinTransformer
        if isinstance(arch, str):
            if arch.lower() not in SwinTransformer.arch_zoo:
                raise KeyError(f'unknown Swin arch {arch!r}; expected one of '
                               f'{sorted(SwinTransformer.arch_zoo)} or a '
                               'dict(embed_dims, depths, num_heads)')
            depths = SwinTransformer.arch_zoo[arch.lower()]['depths']
        else:
            depths = arch['depths']
        self.swin = SwinTransformer(
            arch=arch,
            img_size=img_size,
            patch_size=patch_size,
            window_size=window_size,
            drop_path_rate=drop_path_rate,
            frozen_stages=frozen_stages,
            with_cp=with_cp,
            out_indices=(len(depths) - 1, ),
            **kwargs)
        self.num_stages = self.swin.num_layers
        self.width = self.swin.num_features[-1]
        self.pretrained = parse_pretrained(pretrained)
        if self.pretrained is not None:
            unknown = set(self.pretrained) - {'checkpoint', 'prefix',
                                              'ignore_keys'}
            if unknown:
                raise TypeError(f'SwinTransformerEncoder: unknown pretrained '
                                f'options {sorted(unknown)}')

    @property
    def grid_size(self):
        """``(H, W)`` of the final token grid for the configured size."""
        h, w = self.swin.patch_resolution
        f = 2**(self.num_stages - 1)
        return (h // f, w // f)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` -> ``[B, 1 + h*w, C]``; token 0 is the average of
        the grid tokens (PIR-ITR's "cls")."""
        grid = self.swin(images)[-1]  # [B, C, h, w] after the final norm
        tokens = grid.flatten(2).transpose(1, 2)
        return torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)

    # ------------------------------------------------------------ weights
    def init_weights(self) -> None:
        if self.pretrained is None:
            super().init_weights()
            return
        if self._is_init:
            return
        self.load_pretrained(**self.pretrained)
        self._is_init = True

    def load_pretrained(self,
                        checkpoint,
                        prefix: Optional[str] = None,
                        ignore_keys: Sequence[str] = ()) -> dict:
        """Load a Swin checkpoint strictly; returns the load report."""
        source = checkpoint if isinstance(checkpoint, str) else \
            '<state dict>'
        state_dict = load_clip_state_dict(checkpoint)
        if prefix is None:
            for cand in ('backbone.', 'swin.', 'image_encoder.swin.'):
                sel, num = select_prefix(state_dict, cand)
                if num and not is_microsoft_swin(state_dict):
                    state_dict = sel
                    break
        else:
            state_dict, num = select_prefix(state_dict, prefix)
            if num == 0:
                raise KeyError(f'no key of {source} starts with {prefix!r}')
        return self.load_swin_state_dict(state_dict, ignore_keys, source)

    def load_swin_state_dict(self, state_dict, ignore_keys=(),
                             source: str = '') -> dict:
        """Convert (if Microsoft layout), resize tables and load strictly."""
        dropped = []
        if is_microsoft_swin(state_dict):
            state_dict, dropped = convert_microsoft_swin(
                state_dict, self.num_stages)
        else:
            state_dict = dict(state_dict)
            for key in list(state_dict):
                if key.startswith('head.') or key.endswith(
                        ('attn_mask', 'relative_position_index')):
                    dropped.append(key)
                    state_dict.pop(key)
            if 'norm.weight' in state_dict:  # old mmcls layout
                last = self.num_stages - 1
                for s in ('weight', 'bias'):
                    state_dict[f'norm{last}.{s}'] = state_dict.pop(
                        f'norm.{s}')
        own = self.swin.state_dict()
        from mmpretrain.models.utils import \
            resize_relative_position_bias_table
        for key, value in list(state_dict.items()):
            if key.endswith('relative_position_bias_table') and key in own \
                    and value.shape != own[key].shape \
                    and value.shape[1] == own[key].shape[1]:
                src, dst = int(value.shape[0]**0.5), int(
                    own[key].shape[0]**0.5)
                state_dict[key] = resize_relative_position_bias_table(
                    src, dst, value, value.shape[1])
        ignore = list(ignore_keys) + [r'relative_position_index$']
        report = load_state_dict_strict(
            self.swin, state_dict, ignore_keys=ignore,
            name='SwinTransformerEncoder', source=source)
        # relative-position indices are recomputed buffers, not weights
        regenerated = [k for k in report['ignored']
                       if k.endswith('relative_position_index')]
        report['coverage'] = report['loaded'] / max(
            report['total'] - len(regenerated), 1)
        report['dropped'] = dropped
        if dropped:
            print_log(f'SwinTransformerEncoder: dropped {len(dropped)} '
                      f'checkpoint keys on purpose (classifier head, '
                      f'attention masks, relative-position indices)',
                      logger='current')
        return report
