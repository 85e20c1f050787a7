"""CLIP text tower: open_clip's ``TextTransformer`` with IRRA-style outputs.

Forward (Radford et al., 2021; IRRA, Jiang & Ye, CVPR 2023, eq. 2):

.. math::

    x_0 &= E_{tok}[\\mathrm{ids}] + E_{pos}[:L] \\\\
    X &= \\mathrm{LN_{final}}(\\mathrm{Transformer}_{causal}(x_0)) \\\\
    \\mathrm{tokens} &= X\\,W_{text} \\in \\mathbb{R}^{L\\times D},
    \\qquad \\mathrm{global} = X_{e}\\,W_{text},\\;
    e = \\arg\\max_l \\mathrm{ids}_l \\;(\\text{the EOT token})

Parameter names are open_clip's top-level text keys (``token_embedding``,
``positional_embedding``, ``transformer.resblocks.*``, ``ln_final``,
``text_projection``), so CLIP checkpoints load with strict key matching.
Because of the causal mask, padding after EOT never changes the EOT
feature; ``attention_mask`` is returned for heads that attend to the tokens.

For methods that modify embeddings (e.g. prompt tokens), the forward is split
into :meth:`embed` and :meth:`forward_embeds`.
"""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from open_clip.transformer import TextTransformer

from sdtr.registry import MODELS
from ..utils.clip_arch import act_layer, resolve_tower_cfg
from ..utils.clip_checkpoint import (clip_tower_state_dict,
                                     resize_text_pos_embed)
from .base_clip_tower import CLIPTowerMixin


@MODELS.register_module()
class CLIPTextTransformer(CLIPTowerMixin, TextTransformer, BaseModule):
    """CLIP causal text transformer built from open_clip modules.

    Args:
        arch (str | dict | None): open_clip model name (``'ViT-B-16'``...),
            an equivalent dict, or None (explicit dimensions).
        context_length (int, optional): number of positions (77).
        vocab_size (int, optional): vocabulary size (49408).
        width (int, optional): transformer width.
        heads (int, optional): attention heads.
        layers (int, optional): number of blocks.
        mlp_ratio (float, optional): MLP hidden ratio (4).
        embed_dim (int, optional): output (projection) dimension.
        act (str, optional): ``'quick_gelu'`` or ``'gelu'`` (default: the
            arch's ``quick_gelu`` flag).
        with_cp (bool): gradient checkpointing.
        pretrained (str | dict, optional): see
            :mod:`sdtr.models.backbones.base_clip_tower`; option
            ``text_pos_resize`` (``'interpolate'`` as open_clip, or
            ``'truncate'``) when ``context_length`` differs.
        init_cfg (dict, optional): mmengine init config.
    """

    clip_tower = 'text'

    def __init__(self,
                 arch: Union[str, dict, None] = 'ViT-B-16',
                 context_length: Optional[int] = None,
                 vocab_size: Optional[int] = None,
                 width: Optional[int] = None,
                 heads: Optional[int] = None,
                 layers: Optional[int] = None,
                 mlp_ratio: Optional[float] = None,
                 embed_dim: Optional[int] = None,
                 act: Optional[str] = None,
                 with_cp: bool = False,
                 pretrained: Union[str, dict, None] = None,
                 init_cfg: Optional[dict] = None):
        cfg = resolve_tower_cfg(
            arch, 'text', context_length=context_length,
            vocab_size=vocab_size, width=width, heads=heads, layers=layers,
            mlp_ratio=mlp_ratio, embed_dim=embed_dim, act=act)
        cfg.setdefault('context_length', 77)
        cfg.setdefault('vocab_size', 49408)
        for key in ('width', 'heads', 'layers'):
            if cfg.get(key) is None:
                raise ValueError(f'{self.__class__.__name__}: {key} is '
                                 'neither given nor in the arch config')
        TextTransformer.__init__(
            self,
            context_length=cfg['context_length'],
            vocab_size=cfg['vocab_size'],
            width=cfg['width'],
            heads=cfg['heads'],
            layers=cfg['layers'],
            mlp_ratio=cfg.get('mlp_ratio', 4.0),
            ls_init_value=cfg.get('ls_init_value'),
            output_dim=cfg['embed_dim'],
            act_layer=act_layer(cfg['act']),
        )
        self.arch = arch
        self.act = cfg['act']
        self.embed_dim = cfg['embed_dim']
        self.set_grad_checkpointing(with_cp)
        self.init_cfg = self.setup_pretrained(pretrained, init_cfg)

    # ----------------------------------------------------------------- API
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Token + position embedding: ``[B, L]`` -> ``[B, L, width]``."""
        L = input_ids.shape[1]
        if L > self.context_length:
            raise ValueError(f'{L} tokens exceed the context length '
                             f'{self.context_length}')
        cast = self.transformer.get_cast_dtype()
        x = self.token_embedding(input_ids).to(cast)
        return x + self.positional_embedding[:L].to(cast)

    def forward_embeds(self,
                       x: torch.Tensor,
                       input_ids: torch.Tensor,
                       attention_mask: Optional[torch.Tensor] = None
                       ) -> dict:
        """Run the causal transformer on embeddings from :meth:`embed`.

        Returns:
            dict: ``global`` ``[B, D]`` (EOT token, ``argmax`` of the ids),
            ``tokens`` ``[B, L, D]`` and ``attention_mask`` ``[B, L]``.
        """
        L = x.shape[1]
        x = self.transformer(x, attn_mask=self.attn_mask[:L, :L])
        x = self.ln_final(x)
        eot = input_ids.argmax(dim=-1)
        pooled = x[torch.arange(x.shape[0], device=x.device), eot]
        if attention_mask is None:
            positions = torch.arange(L, device=input_ids.device)
            attention_mask = (positions[None] <= eot[:, None]).long()
        return {
            'global': pooled @ self.text_projection,
            'tokens': x @ self.text_projection,
            'attention_mask': attention_mask,
        }

    def forward(self,
                input_ids: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None) -> dict:
        """``input_ids`` ``[B, L]`` -> ``dict(global, tokens,
        attention_mask)``."""
        return self.forward_embeds(
            self.embed(input_ids), input_ids, attention_mask)

    # ----------------------------------------------------------- weights
    def convert_state_dict(self,
                           state_dict: dict,
                           report,
                           text_pos_resize: str = 'interpolate') -> dict:
        """The text-tower part of a CLIP checkpoint, with
        ``positional_embedding`` resized to ``context_length``."""
        state_dict = clip_tower_state_dict(state_dict, report, 'text')
        key = 'positional_embedding'
        value = state_dict.get(key)
        if value is not None and value.ndim == 2 and \
                value.shape[0] != self.context_length and \
                value.shape[1] == self.width:
            state_dict[key] = resize_text_pos_embed(
                value, self.context_length, mode=text_pos_resize)
            report.note(f'{key} resized from {value.shape[0]} to '
                        f'{self.context_length} ({text_pos_resize})')
        return state_dict
