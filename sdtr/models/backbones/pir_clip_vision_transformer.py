"""PIR-CLIP image tower: CLIP ViT with a soft-belief instruction token.

PIR paper §IV-C3 ("PIR-CLIP modifies the ViT structure by employing
convolution for patching, followed by a soft belief strategy, and then a
transformer encoder to facilitate interaction between visual and
instructional features"); the exact order of operations is that of the
released code (docs/methods/pir.md#13-pir-clip-model).  With the
instruction embedding :math:`y \\in R^W` (``W`` = ViT width, from
:class:`~sdtr.models.backbones.PIRInstructionEncoder`):

.. math::

    X &= \\mathrm{LN_{pre}}([x_{cls}; \\mathrm{Conv}_P(I)] + E_{pos})
        \\in R^{(1+N)\\times W} \\\\
    \\hat X &= \\mathrm{SoftBelief}(X, y)
        \\qquad \\text{(PIR eq. 5-6, all } 1+N \\text{ tokens)} \\\\
    Z &= \\mathrm{LN_{post}}(\\mathrm{Transformer}([y;\\, \\hat X]))
        \\in R^{(2+N)\\times W}

``y`` is prepended *after* the belief and gets no position embedding, so the
position table keeps ``1 + N`` rows and any open_clip-format ViT checkpoint
(OpenAI, RemoteCLIP, GeoRSCLIP) loads unchanged.  ``tokens = Z W_{proj}`` and
``global`` is read at the instruction position ``Z_0 W_{proj}``
(``pool='instruction'``, the released behaviour) or at the class token
``Z_1 W_{proj}`` (``pool='class'``).  The belief reading is chosen by the
``SoftBelief`` config (``rank_mode='paper'`` or ``'released'``).
"""
from typing import Optional, Union

import torch

from sdtr.registry import MODELS
from .clip_vision_transformer import CLIPVisionTransformer

POOLS = ('instruction', 'class')


@MODELS.register_module()
class PIRCLIPVisionTransformer(CLIPVisionTransformer):
    """CLIP ViT whose tokens are re-weighted by a soft belief against an
    instruction embedding that is prepended as an extra token.

    Args:
        belief (dict | nn.Module): a ``SoftBelief`` config
            (``dict(type='SoftBelief', rank_mode='paper'|'released')``).
        pool (str): ``'instruction'`` (released: pooled output at the
            instruction position) or ``'class'`` (CLIP's class token).
        **kwargs: :class:`CLIPVisionTransformer` arguments (``arch``,
            ``image_size``, ``act``, ``pretrained``...).
    """

    def __init__(self,
                 belief: Union[dict, torch.nn.Module] = dict(
                     type='SoftBelief', rank_mode='paper'),
                 pool: str = 'instruction',
                 **kwargs):
        super().__init__(**kwargs)
        if pool not in POOLS:
            raise ValueError(f'pool must be one of {POOLS}, got {pool!r}')
        self.pool = pool
        self.belief = MODELS.build(belief) if isinstance(belief, dict) \
            else belief

    def forward_tokens(self,
                       patch_tokens: torch.Tensor,
                       instruction: Optional[torch.Tensor] = None,
                       return_belief: bool = False) -> dict:
        """Belief, instruction token and transformer (see module doc).

        Args:
            patch_tokens (Tensor): ``[B, N, W]`` from :meth:`embed`.
            instruction (Tensor): ``[B, W]`` instruction embedding.
            return_belief (bool): also return ``belief`` ``[B, 1 + N]``.

        Returns:
            dict: ``global`` ``[B, D]`` and ``tokens`` ``[B, 2 + N, D]``
            (instruction, class, patches), plus ``belief`` on request.
        """
        B, N, W = patch_tokens.shape
        if N != self.num_patches:
            raise ValueError(f'got {N} patch tokens, the position embedding '
                             f'is for {self.num_patches} ({self.grid_size})')
        if instruction is None:
            raise ValueError('PIRCLIPVisionTransformer needs an instruction '
                             'embedding [B, width]; use CLIPVisionTransformer '
                             'for a plain CLIP tower')
        if instruction.shape != (B, W):
            raise ValueError(f'instruction must be [B, width] = [{B}, {W}], '
                             f'got {tuple(instruction.shape)}')
        cls = self.class_embedding.to(patch_tokens.dtype).view(1, 1, -1)
        x = torch.cat([cls.expand(B, -1, -1), patch_tokens], dim=1)
        x = x + self.positional_embedding.to(x.dtype)
        x = self.patch_dropout(x)
        x = self.ln_pre(x)
        y = instruction.to(x.dtype)
        x, belief, _ = self.belief(x, y)  # a BeliefOutput
        x = torch.cat([y.unsqueeze(1), x], dim=1)
        x = self.transformer(x)
        x = self.ln_post(x)
        index = 0 if self.pool == 'instruction' else 1
        out = {'global': x[:, index] @ self.proj, 'tokens': x @ self.proj}
        if return_belief:
            out['belief'] = belief
        return out

    def forward(self, images: torch.Tensor,
                instruction: Optional[torch.Tensor] = None) -> dict:
        """``images [B, 3, H, W]``, ``instruction [B, W]`` ->
        ``dict(global, tokens)``."""
        return self.forward_tokens(self.embed(images), instruction)
