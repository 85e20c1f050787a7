"""PIR-CLIP instruction branch: CLIP ModifiedResNet-50 + linear map.

PIR paper §IV-A / §V-C: a ResNet-50 scene encoder gives the *instruction
embedding* that guides the visual representation; in PIR-CLIP it is CLIP's
ModifiedResNet-50 whose attention pool outputs 512 channels, mapped to the
ViT width (docs/methods/pir.md#13-pir-clip-model):

.. math::  y = W_r\\, \\mathrm{RN50}_{attnpool}(I) + b_r \\in R^{768},
           \\qquad W_r \\in R^{768\\times 512}

The ResNet is the existing :class:`CLIPModifiedResNet` (open_clip's
``ModifiedResNet``), so the ``visual.*`` part of OpenAI's RN50 checkpoint
loads into it, except the attention-pool output projection
``attnpool.c_proj`` (1024 outputs in RN50, 512 here), which keeps its
initialisation; :meth:`load_pretrained` reports exactly which keys were
re-initialised.  Only the keys named in ``reinit_keys`` (default these two)
may be re-initialised: any other shape mismatch means a wrong checkpoint
(e.g. another ResNet width, whose keys are all the same) and is an error
that lists every mismatched key.

Freezing: the paper freezes the trunk "before the attention pool layer"
during CLIP tuning (§V-C, ``freeze_trunk=True``, trunk BatchNorms kept in eval
mode); the released code trains everything (``freeze_trunk=False``).
"""
from typing import Optional, Sequence, Union

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from sdtr.registry import MODELS
from ..utils.clip_checkpoint import (CheckpointMismatchError,
                                     load_clip_state_dict, parse_pretrained,
                                     split_clip_state_dict)


@MODELS.register_module()
class PIRInstructionEncoder(BaseModule):
    """Scene-prior instruction encoder of PIR-CLIP.

    Args:
        resnet (dict): a ``CLIPModifiedResNet`` config; ``embed_dim`` is the
            attention-pool output (512 in PIR-CLIP).
        out_dim (int): instruction width = the ViT width (768 for ViT-B).
        freeze_trunk (bool): freeze stem and stages (paper) or train all
            (released).
        pretrained (str | dict, optional): an OpenAI-format RN50 (or any
            open_clip ModifiedResNet) checkpoint for the ResNet, read in
            :meth:`init_weights`: ``dict(checkpoint=..., reinit_mismatched=
            True, reinit_keys=[...], ignore_keys=[...])``; with
            ``reinit_mismatched`` the ``reinit_keys`` (default
            ``attnpool.c_proj.weight/bias``) keep their initialisation when
            their shape differs and are reported; every other mismatch
            raises.  The linear map is always freshly initialised.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 resnet: dict = dict(type='CLIPModifiedResNet', arch='RN50',
                                     image_size=224, embed_dim=512),
                 out_dim: int = 768,
                 freeze_trunk: bool = True,
                 pretrained: Union[str, dict, None] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.resnet = MODELS.build(resnet)
        in_dim = getattr(self.resnet, 'embed_dim', None)
        if in_dim is None:
            raise ValueError('the instruction ResNet must expose embed_dim')
        self.proj = nn.Linear(in_dim, out_dim)
        self.out_dim = out_dim
        self.freeze_trunk = freeze_trunk
        self.pretrained = parse_pretrained(pretrained)
        if self.pretrained is not None:
            unknown = set(self.pretrained) - {
                'checkpoint', 'reinit_mismatched', 'reinit_keys',
                'ignore_keys',
                'check_hash', 'sha256', 'interpolation', 'antialias',
                'old_grid_size'}
            if unknown:
                raise TypeError(f'PIRInstructionEncoder: unknown pretrained '
                                f'options {sorted(unknown)}')
        self.last_load_report: Optional[dict] = None
        if freeze_trunk:
            for name, p in self.resnet.named_parameters():
                if not name.startswith('attnpool.'):
                    p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_trunk:  # frozen BatchNorms keep their statistics
            for name, m in self.resnet.named_modules():
                if not name.startswith('attnpool') and isinstance(
                        m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images [B, 3, H, W]`` -> instruction ``[B, out_dim]``."""
        return self.proj(self.resnet(images)['global'])

    # ----------------------------------------------------------- weights
    def init_weights(self) -> None:
        super().init_weights()
        if self.pretrained is not None and self.last_load_report is None:
            self.load_pretrained(**self.pretrained)

    #: the tensors whose shape legitimately differs from an OpenAI RN50
    #: checkpoint (attention-pool output 512 here, 1024 there)
    REINIT_KEYS = ('attnpool.c_proj.weight', 'attnpool.c_proj.bias')

    def load_pretrained(self,
                        checkpoint,
                        reinit_mismatched: bool = True,
                        reinit_keys: Sequence[str] = REINIT_KEYS,
                        ignore_keys: Sequence[str] = (),
                        check_hash: bool = False,
                        sha256: Optional[str] = None,
                        **resize_options) -> dict:
        """Load a CLIP ResNet checkpoint into :attr:`resnet`.

        Args:
            checkpoint: path/URL or state dict (OpenAI / open_clip layout).
            reinit_mismatched (bool): keep the initialisation of the
                ``reinit_keys`` whose shape differs (True) or raise (False).
            reinit_keys (Sequence[str]): the only tensor names (relative to
                the ResNet) that may be re-initialised.
            ignore_keys (Sequence[str]): regular expressions of keys left
                out on purpose.

        Returns:
            dict: the strict-load report of the tower (``loaded``, ``total``,
            ``coverage``, ``ignored``) plus ``reinitialized`` (keys kept at
            their initialisation because their shape differs, e.g.
            ``attnpool.c_proj.weight``/``bias`` of OpenAI RN50).

        Raises:
            CheckpointMismatchError: missing/unexpected keys, a mismatched
                shape outside ``reinit_keys`` (all such keys are listed), or
                any mismatch with ``reinit_mismatched=False``.
        """
        import re
        source = checkpoint if isinstance(checkpoint, str) else \
            '<state dict>'
        state_dict = load_clip_state_dict(checkpoint, check_hash=check_hash,
                                          sha256=sha256)
        visual = split_clip_state_dict(state_dict)['visual']
        tower_sd = dict(visual) if visual else dict(state_dict)
        tower_sd = self.resnet.adapt_pretrained_state_dict(
            tower_sd, **resize_options)
        own = self.resnet.state_dict()
        reinit = []
        if reinit_mismatched:
            mismatched = sorted(k for k, v in tower_sd.items()
                                if k in own and own[k].shape != v.shape)
            allowed = set(reinit_keys)
            wrong = [k for k in mismatched if k not in allowed]
            if wrong:
                shapes = ', '.join(
                    f'{k}: checkpoint {tuple(tower_sd[k].shape)} vs model '
                    f'{tuple(own[k].shape)}' for k in wrong)
                raise CheckpointMismatchError(
                    f'Checkpoint {source} does not match the PIR-CLIP '
                    f'instruction ResNet: {len(wrong)} shape mismatch(es) '
                    f'outside the re-initialisable keys {sorted(allowed)}: '
                    f'{shapes}. Is it the right architecture (RN50 trunk)? '
                    'Nothing was loaded.')
            reinit = [k for k in mismatched if k in allowed]
        patterns = list(ignore_keys) + [
            '^' + re.escape(k) + '$' for k in reinit]
        report = self.resnet.load_tower_state_dict(
            tower_sd, ignore_keys=patterns, source=source)
        report['reinitialized'] = reinit
        if reinit:
            print_log(f'PIRInstructionEncoder: re-initialised {reinit} '
                      f'(shape differs from {source})', logger='current')
        self.last_load_report = report
        return report
