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

Speed: on a GPU the blocks run open_clip's parameters through
``F.scaled_dot_product_attention(..., is_causal=True)`` with no mask tensor
(:func:`causal_blocks_forward`), which selects PyTorch's causal fused
kernels (flash attention), instead of ``nn.MultiheadAttention`` with an
additive ``[L, L]`` float mask, which rules the flash kernel out and goes
through the module's Python argument handling at every layer.  The
computation is the same (outputs equal open_clip's ``TextTransformer`` to
float rounding).  On the CPU (:data:`CAUSAL_SDPA_DEVICES`) the blocks run as
open_clip runs them: the CPU's causal kernel gains about 10 % there, and its
backward pass rounds differently, so CPU training keeps bit for bit the
gradients of open_clip's path (and of earlier sdtr versions).  docs/training.md#speed has the measurements.

For methods that modify embeddings (e.g. prompt tokens), the forward is split
into :meth:`embed` and :meth:`forward_embeds`.
"""
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from open_clip.transformer import ResidualAttentionBlock, TextTransformer
from torch.utils.checkpoint import checkpoint

from sdtr.registry import MODELS
from ..utils.clip_arch import act_layer, resolve_tower_cfg
from ..utils.clip_checkpoint import (clip_tower_state_dict,
                                     resize_text_pos_embed)
from .base_clip_tower import CLIPTowerMixin


#: device types on which the blocks use causal scaled-dot-product attention
CAUSAL_SDPA_DEVICES = ('cuda', )


def _causal_block(block: ResidualAttentionBlock,
                  x: torch.Tensor) -> torch.Tensor:
    """open_clip's ``ResidualAttentionBlock.forward`` with a causal mask,
    computed with causal scaled-dot-product attention."""
    attn = block.attn
    B, L, C = x.shape
    heads = attn.num_heads
    h = block.ln_1(x)
    qkv = F.linear(h, attn.in_proj_weight, attn.in_proj_bias)
    q, k, v = qkv.view(B, L, 3, heads, C // heads).permute(2, 0, 3, 1,
                                                            4).unbind(0)
    out = F.scaled_dot_product_attention(
        q, k, v, dropout_p=attn.dropout if block.training else 0.0,
        is_causal=True)
    out = F.linear(out.transpose(1, 2).reshape(B, L, C),
                   attn.out_proj.weight, attn.out_proj.bias)
    x = x + block.ls_1(out)
    return x + block.ls_2(block.mlp(block.ln_2(x)))


def supports_causal_sdpa(transformer) -> bool:
    """Whether every block of an open_clip ``Transformer`` is a plain
    batch-first self-attention block (then :func:`causal_blocks_forward`
    computes exactly what the block computes)."""
    return getattr(transformer, 'batch_first', False) and all(
        type(b) is ResidualAttentionBlock and not hasattr(b, 'ln_1_kv')
        and isinstance(b.attn, torch.nn.MultiheadAttention)
        and b.attn.batch_first and b.attn._qkv_same_embed_dim
        and b.attn.in_proj_bias is not None and b.attn.bias_k is None
        and not b.attn.add_zero_attn for b in transformer.resblocks)


def causal_blocks_forward(transformer, x: torch.Tensor) -> torch.Tensor:
    """Run the blocks of an open_clip ``Transformer`` causally on
    ``[B, L, W]`` (gradient checkpointing as the transformer is set)."""
    for block in transformer.resblocks:
        if transformer.grad_checkpointing and torch.is_grad_enabled():
            x = checkpoint(_causal_block, block, x, use_reentrant=False)
        else:
            x = _causal_block(block, x)
    return x


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
        self._causal_sdpa = supports_causal_sdpa(self.transformer)
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
        if self._causal_sdpa and x.device.type in CAUSAL_SDPA_DEVICES:
            x = causal_blocks_forward(self.transformer, x)
        else:
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
