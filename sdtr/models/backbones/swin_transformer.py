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
:meth:`init_weights` by :class:`~sdtr.models.utils.PretrainedMixin`) may be
Microsoft's release (``{'model': ...}``, ``layers.*`` keys), an mmpretrain
classifier checkpoint (``backbone.*`` keys) or the output of
``tools/model_converters/swin_to_sdtr.py``; the key converter is
:func:`sdtr.models.utils.swin_checkpoint.convert_swin_checkpoint`.  Loading
is strict: every backbone tensor must be present and every checkpoint key
used, except the keys dropped on purpose (classifier head, attention masks
and relative-position indices, which are recomputed) and ``ignore_keys``;
relative-position bias tables are resized when the window size differs.
"""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule

from sdtr.registry import MODELS
from sdtr.checkpoint import PretrainedMixin
from ..utils.swin_checkpoint import convert_swin_checkpoint


@MODELS.register_module()
class SwinTransformerEncoder(PretrainedMixin, BaseModule):
    """mmpretrain Swin Transformer with PIR's token output.

    Args:
        arch (str | dict): mmpretrain arch (``'tiny'``) or a dict with
            ``embed_dims``, ``depths``, ``num_heads``.
        img_size (int): input size (224).
        patch_size (int): patch size (4).
        window_size (int): attention window (7).
        drop_path_rate (float): stochastic depth (0.1 in PIR-ITR).
        pretrained (str | dict, optional): ``dict(checkpoint=...,
            **options)``, loaded strictly in :meth:`init_weights` (options:
            ``prefix``, ``ignore_keys``, ``reinit_keys``, ``check_hash``,
            ``sha256``).
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
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)

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
    def pretrained_target(self) -> torch.nn.Module:
        return self.swin

    def convert_state_dict(self, state_dict: dict, report) -> dict:
        """Microsoft / mmpretrain / sdtr Swin keys -> mmpretrain's."""
        return convert_swin_checkpoint(state_dict, report,
                                       self.swin.state_dict(), self.num_stages)
