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
initialisation; the load report lists exactly which keys were
re-initialised.  Only the keys matched by ``reinit_keys`` (default
``^attnpool\\.c_proj\\.``, these two) may be re-initialised: any other
shape mismatch means a wrong checkpoint (e.g. another ResNet width, whose
keys are all the same) and is an error that lists every mismatched key.

Freezing: the paper freezes the trunk "before the attention pool layer"
during CLIP tuning (§V-C, ``freeze_trunk=True``, trunk BatchNorms kept in eval
mode); the released code trains everything (``freeze_trunk=False``).
"""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from sdtr.registry import MODELS
from sdtr.checkpoint import PretrainedMixin


@MODELS.register_module()
class PIRInstructionEncoder(PretrainedMixin, BaseModule):
    """Scene-prior instruction encoder of PIR-CLIP.

    Args:
        resnet (dict): a ``CLIPModifiedResNet`` config; ``embed_dim`` is the
            attention-pool output (512 in PIR-CLIP).
        out_dim (int): instruction width = the ViT width (768 for ViT-B).
        freeze_trunk (bool): freeze stem and stages (paper) or train all
            (released).
        pretrained (str | dict, optional): an OpenAI-format RN50 (or any
            open_clip ModifiedResNet) checkpoint for the ResNet, read in
            :meth:`init_weights`: ``dict(checkpoint=..., reinit_keys=[...],
            ignore_keys=[...], **resize_options)``; the ``reinit_keys``
            (default ``attnpool.c_proj.weight/bias``; ``()`` to allow none)
            keep their initialisation when their shape differs and are
            reported; every other mismatch raises.  The linear map is always
            freshly initialised.
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
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)
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
    #: the tensors whose shape legitimately differs from an OpenAI RN50
    #: checkpoint (attention-pool output 512 here, 1024 there)
    pretrained_defaults = dict(reinit_keys=(r'^attnpool\.c_proj\.', ))
    #: the checkpoint covers the ResNet only: the map is initialised first
    keeps_default_init = True

    def pretrained_target(self) -> nn.Module:
        return self.resnet

    def pretrained_options(self) -> set:
        return self.resnet.pretrained_options()

    def convert_state_dict(self, state_dict: dict, report,
                           **options) -> dict:
        """The ResNet tower's converter (``visual.*``, resized tables)."""
        return self.resnet.convert_state_dict(state_dict, report, **options)
