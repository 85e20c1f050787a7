"""CLIP ResNet image tower: open_clip's ``ModifiedResNet``.

Three-convolution stem, anti-aliased (avg-pool) strided bottlenecks and a
multi-head *attention pool* (Radford et al., 2021, Sec. 2.4).  With the final
feature map ``F \\in R^{HW x C}`` (stride 32) and its mean
``\\bar f``:

.. math::

    Z = [\\bar f;\\; F] + E_{pos}, \\qquad
    O = \\mathrm{MHA}(Q = Z, K = Z, V = Z)\\, W_c
        \\in \\mathbb{R}^{(1+HW)\\times D}

``global = O_0`` (open_clip's output: the mean-token query) and
``tokens = O``, i.e. the attention-pooled output for the mean token followed
by every spatial position (the same attention, evaluated with every position
as the query), matching the ``[B, 1 + N, D]`` layout of the ViT tower.
Parameter names are open_clip's (``conv1``, ``bn1``..., ``layer1..4``,
``attnpool.{positional_embedding,q_proj,k_proj,v_proj,c_proj}``).
Non-square inputs are supported: the attention-pool position table has
``(H/32)(W/32) + 1`` rows and checkpoints are resized to it.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from open_clip.modified_resnet import ModifiedResNet
from torch import nn

from sdtr.registry import MODELS
from ..utils.clip_arch import resolve_tower_cfg
from .base_clip_tower import CLIPImageTowerMixin
from .clip_vision_transformer import _pair


@MODELS.register_module()
class CLIPModifiedResNet(CLIPImageTowerMixin, ModifiedResNet, BaseModule):
    """CLIP ModifiedResNet image tower.

    Args:
        arch (str | dict | None): open_clip model name (``'RN50'``,
            ``'RN101'``, ``'RN50x4'``...), a dict, or None.
        image_size (int | tuple[int, int], optional): input size, a multiple
            of 32.
        layers (Sequence[int], optional): bottlenecks per stage.
        width (int, optional): stem width (64 for RN50).
        heads (int, optional): attention-pool heads (``width * 32 // 64``).
        embed_dim (int, optional): output dimension.
        pretrained (str | dict, optional): see
            :mod:`sdtr.models.backbones.base_clip_tower`; options
            ``interpolation``, ``antialias``, ``old_grid_size``.
        init_cfg (dict, optional): mmengine init config.
    """

    pos_embed_key = 'attnpool.positional_embedding'

    def __init__(self,
                 arch: Union[str, dict, None] = 'RN50',
                 image_size: Union[int, Sequence[int], None] = None,
                 layers: Optional[Sequence[int]] = None,
                 width: Optional[int] = None,
                 heads: Optional[int] = None,
                 embed_dim: Optional[int] = None,
                 pretrained: Union[str, dict, None] = None,
                 init_cfg: Optional[dict] = None):
        cfg = resolve_tower_cfg(
            arch, 'vision', image_size=image_size,
            layers=list(layers) if layers is not None else None, width=width,
            embed_dim=embed_dim)
        if not isinstance(cfg.get('layers'), (list, tuple)):
            raise ValueError(f'arch {arch!r} is not a ResNet: use '
                             'CLIPVisionTransformer')
        img_size = _pair(cfg['image_size'])
        if img_size[0] % 32 or img_size[1] % 32:
            raise ValueError(f'image_size {img_size} must be a multiple of 32')
        if heads is None:
            heads = cfg['width'] * 32 // cfg.get('head_width', 64)
        ModifiedResNet.__init__(
            self,
            layers=list(cfg['layers']),
            output_dim=cfg['embed_dim'],
            heads=heads,
            image_size=img_size[0],
            width=cfg['width'])
        self.image_size = img_size
        self.grid_size = (img_size[0] // 32, img_size[1] // 32)
        if self.grid_size[0] != self.grid_size[1]:
            channels = cfg['width'] * 32
            self.attnpool.positional_embedding = nn.Parameter(
                torch.randn(self.grid_size[0] * self.grid_size[1] + 1,
                            channels) / channels**0.5)
        self.arch = arch
        self.embed_dim = cfg['embed_dim']
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """Stem and the four stages: ``[B, 3, H, W]`` -> ``[B, C, h, w]``."""
        x = self.stem(images)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def attention_pool(self, feats: torch.Tensor) -> dict:
        """Attention pool with every position as a query (see module doc)."""
        pool = self.attnpool
        x = feats.flatten(2).permute(2, 0, 1)  # (HW, B, C)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + pool.positional_embedding[:, None, :].to(x.dtype)
        out, _ = F.multi_head_attention_forward(
            query=x, key=x, value=x,
            embed_dim_to_check=x.shape[-1],
            num_heads=pool.num_heads,
            q_proj_weight=pool.q_proj.weight,
            k_proj_weight=pool.k_proj.weight,
            v_proj_weight=pool.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat(
                [pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0.,
            out_proj_weight=pool.c_proj.weight,
            out_proj_bias=pool.c_proj.bias,
            use_separate_proj_weight=True,
            training=self.training,
            need_weights=False)
        out = out.permute(1, 0, 2)
        return {'global': out[:, 0], 'tokens': out}

    def forward(self, images: torch.Tensor) -> dict:
        """``images`` -> ``dict(global=[B, D], tokens=[B, 1 + hw, D])``."""
        return self.attention_pool(self.forward_features(images))
