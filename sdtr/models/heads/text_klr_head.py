"""Text key-local reconstruction head, Text KLR (EKLSR eq. 10-13).

.. math::

    \\hat T = \\mathrm{Mask}(T, \\mathrm{PolynomialSelection}(S_t, \\gamma))
    \\qquad \\text{(EKLSR eq. 10)}

    \\hat F_t = \\mathrm{Transformer}(\\hat T)
    \\qquad \\text{(EKLSR eq. 11)}

    \\hat y_i^t = \\mathrm{Linear}(\\hat f_i^{mask\\,t} + f_g^v)
    \\qquad \\text{(EKLSR eq. 12)}

and the cross-entropy of eq. 13 over the text vocabulary (see
:mod:`sdtr.models.heads.base_klr_head`).  The tokens selected by the
polynomial selection (a :class:`~sdtr.models.selectors.KeyLocalSelector`
with ratio :math:`\\gamma`, never SOT/EOT/padding) are **all** replaced by
the tokenizer's ``<|mask|>`` id (eq. 10 masks exactly the selected set; no
BERT 80/10/10 corruption), the masked caption is re-encoded by the text
tower (eq. 11), and the original ids of the masked positions are predicted
from the masked token feature plus the paired image's global feature
(eq. 12).  With the CLIP tokenizer the mask id is 49405
(``CLIPTokenizer(mask_token=True)``, IRRA's layout).
"""
from typing import Optional, Tuple

import torch

from sdtr.registry import MODELS
from .base_klr_head import BaseKLRHead


@MODELS.register_module()
class TextKLRHead(BaseKLRHead):
    """Masked key-token prediction (EKLSR eq. 10-13).

    Args:
        in_channels (int): text token / image global dimension.
        vocab_size (int): number of token ids (49408 for CLIP).
        mask_token_id (int, optional): id written at masked positions; the
            retriever fills it from its tokenizer when None.
        with_interaction (bool): add the paired image global feature
            (eq. 12); False = Table 5 "w/o interaction".
        loss_weight (float): :math:`\\lambda` of eq. 18 (0.1).
        normalize (str): ``'token'`` (default, mean over masked tokens) or
            ``'sample'`` (eq. 13 as printed: sum per caption / B).
        ignore_index (int): label of positions that are not predicted.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int,
                 vocab_size: int = 49408,
                 mask_token_id: Optional[int] = None,
                 with_interaction: bool = True,
                 loss_weight: float = 0.1,
                 normalize: str = 'token',
                 ignore_index: int = -100,
                 init_cfg: Optional[dict] = None):
        super().__init__(
            in_channels=in_channels,
            num_classes=vocab_size,
            with_interaction=with_interaction,
            loss_weight=loss_weight,
            normalize=normalize,
            ignore_index=ignore_index,
            init_cfg=init_cfg)
        if mask_token_id is not None and not \
                0 <= int(mask_token_id) < vocab_size:
            raise ValueError(f'TextKLRHead: mask_token_id {mask_token_id} is '
                             f'outside the vocabulary [0, {vocab_size})')
        self.mask_token_id = None if mask_token_id is None else \
            int(mask_token_id)

    def mask_tokens(self, input_ids: torch.Tensor,
                    selected: torch.Tensor
                    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Eq. 10: replace the selected tokens by the mask id.

        Args:
            input_ids (Tensor): ``[B, L]`` token ids.
            selected (Tensor): ``[B, L]`` bool, the tokens to mask.

        Returns:
            tuple: masked ids ``[B, L]`` and targets ``[B, L]`` (the
            original id at masked positions, ``ignore_index`` elsewhere).
        """
        if self.mask_token_id is None:
            raise RuntimeError('TextKLRHead: mask_token_id is not set (use '
                               'a tokenizer with a mask token, e.g. '
                               'CLIPTokenizer(mask_token=True))')
        if selected.shape != input_ids.shape:
            raise ValueError(f'TextKLRHead: selected {tuple(selected.shape)} '
                             f'must match input_ids '
                             f'{tuple(input_ids.shape)}')
        selected = selected.bool()
        masked = input_ids.masked_fill(selected, self.mask_token_id)
        targets = input_ids.masked_fill(~selected, self.ignore_index)
        return masked, targets
