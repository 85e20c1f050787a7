"""Scene-prior instruction encoder of PIR-ITR.

PIR (§IV-A, Table V; docs/methods/pir.md#2-encoders): a scene
classifier pretrained on a remote-sensing scene dataset (ResNet-50 on AID or
RESISC45 in the paper) whose penultimate feature is the *prior*

.. math::  p = \\mathrm{GAP}(\\mathrm{ResNet}(I)) \\in R^{2048}

and the retriever maps it to the instruction :math:`g = W_c p`.  The trunk is
an mmpretrain backbone built from ``backbone`` (``mmpretrain.ResNet`` depth
50 by default; depth 101, ``mmpretrain.VGG``, ``mmpretrain.VisionTransformer``
or ``mmpretrain.SwinTransformer`` give the Table V alternatives).  4-D
outputs are average-pooled over space, 3-D token outputs over tokens.
mmpretrain's ResNet uses torchvision's key names, so torchvision-style
ResNet classifiers load directly.

The checkpoint is really loaded (by
:class:`~sdtr.models.utils.PretrainedMixin`): strictly, raising
:class:`~sdtr.models.utils.CheckpointMismatchError` with every missing,
unexpected and mis-shaped key, and reporting the classifier keys dropped on
purpose (the released code's ``strict=False`` load into an ``nn.Sequential``
matched no key: a random ResNet, docs/methods/pir.md#12-pir-itr-release; to
reproduce that run use ``pretrained=None`` with ``frozen=True`` and
``norm_eval=False``).  Accepted files: see
:mod:`sdtr.models.utils.scene_classifier_checkpoint`, the key converter
(torchvision-style
AID/RESISC45 classifiers, ``tools/train.py`` checkpoints of an mmpretrain
scene classifier such as ``configs/pir_itr/scene_classifier_*``, the output
of ``tools/model_converters/scene_classifier_to_sdtr.py``).

Frozen by default (PIR: ``finetune_conv: False``); ``norm_eval=True`` also
keeps the BatchNorm statistics fixed (the released code leaves the frozen
ResNet in train mode, so its running statistics drift: ``norm_eval=False``).
"""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from sdtr.registry import MODELS
from sdtr.checkpoint import PretrainedMixin
from ..utils.scene_classifier_checkpoint import convert_scene_classifier


@MODELS.register_module()
class SceneInstructionEncoder(PretrainedMixin, BaseModule):
    """Frozen scene-classifier trunk giving the PIR prior feature.

    Args:
        backbone (dict): mmpretrain backbone config (default ResNet-50).
        out_dim (int, optional): width of the prior feature; inferred with a
            dummy forward at ``probe_size`` when None.
        frozen (bool): no gradient to the trunk (default True).
        norm_eval (bool): keep BatchNorm layers in eval mode when frozen.
        pretrained (str | dict, optional): scene-classifier checkpoint,
            ``dict(checkpoint=..., **options)``, loaded strictly in
            :meth:`init_weights` (options: ``prefix``, ``ignore_keys``,
            ``reinit_keys``, ``check_hash``, ``sha256``).
        probe_size (int): image size of the width probe.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 backbone: dict = dict(type='mmpretrain.ResNet', depth=50),
                 out_dim: Optional[int] = None,
                 frozen: bool = True,
                 norm_eval: bool = True,
                 pretrained: Union[str, dict, None] = None,
                 probe_size: int = 64,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.frozen = frozen
        self.norm_eval = norm_eval
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)
        if out_dim is None:
            was_training = self.backbone.training
            self.backbone.eval()
            with torch.no_grad():
                out_dim = self._pool(self.backbone(
                    torch.zeros(1, 3, probe_size, probe_size))).shape[-1]
            self.backbone.train(was_training)
        self.out_dim = int(out_dim)
        if frozen:
            for p in self.backbone.parameters():
                p.requires_grad_(False)
        self.train(self.training)  # frozen BatchNorms start in eval mode

    @staticmethod
    def _pool(outs) -> torch.Tensor:
        x = outs[-1] if isinstance(outs, (tuple, list)) else outs
        if isinstance(x, (tuple, list)):  # e.g. ViT (patch, cls) pairs
            x = x[-1]
        if x.dim() == 4:
            return x.mean(dim=(2, 3))
        if x.dim() == 3:
            return x.mean(dim=1)
        if x.dim() == 2:
            return x
        raise ValueError(f'unsupported backbone output shape '
                         f'{tuple(x.shape)}')

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.frozen and self.norm_eval:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``[B, 3, H, W]`` -> prior ``[B, out_dim]`` (works for ``B=1``)."""
        if self.frozen:
            with torch.no_grad():
                return self._pool(self.backbone(images))
        return self._pool(self.backbone(images))

    # ------------------------------------------------------------ weights
    def pretrained_target(self) -> nn.Module:
        return self.backbone

    def convert_state_dict(self, state_dict: dict, report) -> dict:
        """The trunk of a scene classifier (classifier dropped)."""
        return convert_scene_classifier(state_dict, report)
