"""CLIP image tower: open_clip's ``VisionTransformer`` with IRRA-style outputs.

Forward (Radford et al., 2021; IRRA, Jiang & Ye, CVPR 2023, eq. 1):

.. math::

    x_0 &= [\\,x_{cls};\\; \\mathrm{Conv}_{P}(I)\\,] + E_{pos}
          \\in \\mathbb{R}^{(1+N)\\times W} \\\\
    X &= \\mathrm{LN_{post}}(\\mathrm{Transformer}(\\mathrm{LN_{pre}}(x_0)))
         \\\\
    \\mathrm{tokens} &= X\\,W_{proj} \\in \\mathbb{R}^{(1+N)\\times D},
    \\qquad \\mathrm{global} = X_{0}\\,W_{proj}

with ``N = (H/P)(W/P)`` patches, e.g. 14x14 for 224x224 and P=16, or 24x8
for IRRA's 384x128 person crops (stride = patch = 16).  The parameters and
their names are open_clip's (``conv1``, ``class_embedding``,
``positional_embedding``, ``ln_pre``, ``transformer.resblocks.*``,
``ln_post``, ``proj``), so the ``visual.*`` part of OpenAI, RemoteCLIP and
GeoRSCLIP checkpoints loads with strict key matching.

The forward is split so that later methods can act between the patch
embedding and the transformer::

    patches = tower.embed(images)                  # [B, N, W]
    patches = my_masking(patches)                  # e.g. learnable mask token
    out = tower.forward_tokens(patches, extra_tokens=None)

``extra_tokens`` ([B, E, W], e.g. an instruction token) are placed *before*
the class token after ``ln_pre`` and get no position embedding; the outputs
then hold ``E + 1 + N`` tokens and ``global`` is still the class token
(index ``E``).
"""
from typing import Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from open_clip.transformer import VisionTransformer

from sdtr.registry import MODELS
from ..utils.clip_arch import act_layer, resolve_tower_cfg
from .base_clip_tower import CLIPImageTowerMixin


def _pair(size) -> tuple:
    if isinstance(size, int):
        return (size, size)
    size = tuple(int(s) for s in size)
    assert len(size) == 2, f'expected an int or (H, W), got {size}'
    return size


@MODELS.register_module()
class CLIPVisionTransformer(CLIPImageTowerMixin, VisionTransformer,
                            BaseModule):
    """CLIP ViT image tower built from open_clip modules.

    Args:
        arch (str | dict | None): open_clip model name (``'ViT-B-16'``,
            ``'ViT-B-32'``, ``'ViT-L-14'``...) read offline from the configs
            bundled with open_clip, an equivalent dict, or None (explicit
            dimensions).
        image_size (int | tuple[int, int], optional): input size ``(H, W)``;
            may be non-square, e.g. ``(384, 128)``.
        patch_size (int, optional): patch size (= stride).
        width (int, optional): transformer width.
        layers (int, optional): number of residual attention blocks.
        heads (int, optional): attention heads (default ``width // 64`` or
            the arch's ``head_width``).
        mlp_ratio (float, optional): MLP hidden ratio (4).
        embed_dim (int, optional): output (projection) dimension.
        act (str, optional): ``'quick_gelu'`` (OpenAI-derived weights:
            OpenAI, RemoteCLIP, GeoRSCLIP-B/32) or ``'gelu'``; default the
            arch's ``quick_gelu`` flag.  Set it explicitly in configs.
        patch_dropout (float, optional): open_clip patch dropout (training).
        with_cp (bool): gradient checkpointing of the blocks.
        pretrained (str | dict, optional): see
            :mod:`sdtr.models.backbones.base_clip_tower`; resizing options
            ``interpolation`` (``'bicubic'`` default, ``'bilinear'`` as
            IRRA), ``antialias`` (True; IRRA: False) and ``old_grid_size``.
        init_cfg (dict, optional): mmengine init config.
    """


    def __init__(self,
                 arch: Union[str, dict, None] = 'ViT-B-16',
                 image_size: Union[int, Sequence[int], None] = None,
                 patch_size: Optional[int] = None,
                 width: Optional[int] = None,
                 layers: Optional[int] = None,
                 heads: Optional[int] = None,
                 mlp_ratio: Optional[float] = None,
                 embed_dim: Optional[int] = None,
                 act: Optional[str] = None,
                 patch_dropout: Optional[float] = None,
                 with_cp: bool = False,
                 pretrained: Union[str, dict, None] = None,
                 init_cfg: Optional[dict] = None):
        cfg = resolve_tower_cfg(
            arch, 'vision', image_size=image_size, patch_size=patch_size,
            width=width, layers=layers, mlp_ratio=mlp_ratio,
            patch_dropout=patch_dropout, embed_dim=embed_dim, act=act)
        if isinstance(cfg.get('layers'), (list, tuple)):
            raise ValueError(f'arch {arch!r} is a ResNet: use '
                             'CLIPModifiedResNet')
        for key in ('image_size', 'patch_size', 'width', 'layers'):
            if cfg.get(key) is None:
                raise ValueError(f'{self.__class__.__name__}: {key} is '
                                 'neither given nor in the arch config')
        img_size = _pair(cfg['image_size'])
        patch = int(cfg['patch_size'])
        if img_size[0] % patch or img_size[1] % patch:
            raise ValueError(f'image_size {img_size} is not divisible by '
                             f'patch_size {patch}')
        if heads is None:
            heads = cfg['width'] // cfg.get('head_width', 64)
        VisionTransformer.__init__(
            self,
            image_size=img_size,
            patch_size=patch,
            width=cfg['width'],
            layers=cfg['layers'],
            heads=heads,
            mlp_ratio=cfg.get('mlp_ratio', 4.0),
            ls_init_value=cfg.get('ls_init_value'),
            output_dim=cfg['embed_dim'],
            patch_dropout=cfg.get('patch_dropout', 0.) or 0.,
            no_ln_pre=cfg.get('no_ln_pre', False),
            act_layer=act_layer(cfg['act']),
        )
        self.arch = arch
        self.act = cfg['act']
        self.embed_dim = cfg['embed_dim']
        self.width = cfg['width']
        self.heads = heads
        self.set_grad_checkpointing(with_cp)
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)

    @property
    def num_patches(self) -> int:
        return self.grid_size[0] * self.grid_size[1]

    # ----------------------------------------------------------------- API
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Patch embedding: ``[B, 3, H, W]`` -> ``[B, N, width]``.

        No class token, no position embedding yet (those are added in
        :meth:`forward_tokens`), so patches can be masked or replaced here.
        """
        x = self.conv1(images)
        return x.flatten(2).transpose(1, 2)

    def forward_tokens(self,
                       patch_tokens: torch.Tensor,
                       extra_tokens: Optional[torch.Tensor] = None,
                       keep_index: Optional[torch.Tensor] = None) -> dict:
        """Run the transformer on (possibly modified) patch tokens.

        Args:
            patch_tokens (Tensor): ``[B, N, width]`` from :meth:`embed`.
            extra_tokens (Tensor, optional): ``[B, E, width]`` prepended after
                ``ln_pre``, without position embedding.
            keep_index (LongTensor, optional): ``[B, K]`` indices of the
                patches to keep after the position embedding is added (MAE:
                the encoder sees the visible patches only); the outputs then
                hold ``E + 1 + K`` tokens.

        Returns:
            dict: ``global`` ``[B, D]`` (projected class token) and
            ``tokens`` ``[B, E + 1 + N, D]`` (all tokens after ``ln_post`` and
            the projection).
        """
        B, N, _ = patch_tokens.shape
        if N != self.num_patches:
            raise ValueError(f'got {N} patch tokens, the position embedding '
                             f'is for {self.num_patches} ({self.grid_size})')
        cls = self.class_embedding.to(patch_tokens.dtype).view(1, 1, -1)
        x = torch.cat([cls.expand(B, -1, -1), patch_tokens], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        if keep_index is not None:
            idx = keep_index.to(x.device).unsqueeze(-1).expand(
                -1, -1, x.shape[-1])
            x = torch.cat([x[:, :1], torch.gather(x[:, 1:], 1, idx)], dim=1)
        x = self.patch_dropout(x)
        x = self.ln_pre(x)
        num_extra = 0
        if extra_tokens is not None:
            num_extra = extra_tokens.shape[1]
            x = torch.cat([extra_tokens.to(x.dtype), x], dim=1)
        x = self.transformer(x)
        x = self.ln_post(x)
        return {'global': x[:, num_extra] @ self.proj,
                'tokens': x @ self.proj}

    def forward(self, images: torch.Tensor) -> dict:
        """``images`` ``[B, 3, H, W]`` -> ``dict(global, tokens)``."""
        return self.forward_tokens(self.embed(images))
