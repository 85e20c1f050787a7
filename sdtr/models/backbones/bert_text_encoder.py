"""BERT text encoder (Hugging Face ``transformers``) returning all tokens.

PIR-ITR's text backbone (PIR §IV-A; docs/methods/pir.md#2-encoders):
:math:`T = \\mathrm{BERT}(w_{1..L}) \\in R^{L \\times H}`, the last-layer
features of every token ([CLS] first).  The model is
:class:`transformers.BertModel` built from a local Hugging Face folder
(``config.json`` + weights + vocab); nothing is downloaded.

Weights are read in :meth:`init_weights` (from the folder, or any file
given to :meth:`load_pretrained`) and loaded strictly by
:class:`~sdtr.models.utils.PretrainedMixin`: every model tensor must be in
the file and every file tensor must be used, except keys dropped on purpose
and reported (the ``pooler.*`` of a checkpoint when the encoder is built
without pooling layer, the ``embeddings.position_ids`` buffer).  The key
converter renames old-format keys (``bert.`` prefix,
``LayerNorm.gamma/beta``), so the released PIR ``bert-base-uncased`` copy
loads (the release's ``strict=False`` load would miss them,
docs/methods/pir.md#12-pir-itr-release).

``use_attention_mask=True`` (default) passes the padding mask to BERT;
``False`` reproduces the released PIR-ITR, which never passes one, so padded
positions are attended (§1.2).
"""
import re
from typing import Optional

import torch
from mmengine.model import BaseModule

from sdtr.registry import MODELS
from sdtr.checkpoint import PretrainedMixin
from ..utils.hf_model_dir import resolve_model_dir

#: old key names -> transformers' (the released PIR copy of BERT)
OLD_BERT_KEYS = ((r'^(bert\.|text_encoder\.)', ''),
                 (r'LayerNorm\.gamma$', 'LayerNorm.weight'),
                 (r'LayerNorm\.beta$', 'LayerNorm.bias'))


@MODELS.register_module()
class BertTextEncoder(PretrainedMixin, BaseModule):
    """``transformers.BertModel`` from a local folder.

    Args:
        model_dir (str, optional): local Hugging Face folder or
            ``pkg://<package>/<sub>``; gives the config and the weights.
        config (dict, optional): ``BertConfig`` fields overriding the
            folder's config, or defining a randomly initialised model when
            ``model_dir`` is None.
        load_weights (bool): load the folder's weights (``model.safetensors``
            or ``pytorch_model.bin``) in :meth:`init_weights` (False: random
            init from the config).
        add_pooling_layer (bool): build BERT's pooler (unused here).
        use_attention_mask (bool): pass the padding mask (False = released
            PIR-ITR behaviour).
        ignore_keys (list[str]): regexes of keys not to load on purpose.
        with_cp (bool): gradient checkpointing of every BERT layer
            (``transformers``' ``gradient_checkpointing_enable``,
            non-reentrant): same outputs and gradients, less memory.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 model_dir: Optional[str] = None,
                 config: Optional[dict] = None,
                 load_weights: bool = True,
                 add_pooling_layer: bool = False,
                 use_attention_mask: bool = True,
                 ignore_keys=(),
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        from transformers import BertConfig, BertModel
        if model_dir is None and config is None:
            raise ValueError('BertTextEncoder needs model_dir (a local '
                             'Hugging Face folder) or a config dict')
        self.model_dir = resolve_model_dir(model_dir) if model_dir else None
        if self.model_dir is not None:
            bert_cfg = BertConfig.from_pretrained(self.model_dir)
            for key, value in (config or {}).items():
                if not hasattr(bert_cfg, key):
                    raise KeyError(f'BertTextEncoder: unknown BertConfig '
                                   f'field {key!r}')
                setattr(bert_cfg, key, value)
        else:
            bert_cfg = BertConfig(**config)
        self.bert = BertModel(bert_cfg, add_pooling_layer=add_pooling_layer)
        if with_cp:
            self.bert.gradient_checkpointing_enable(
                gradient_checkpointing_kwargs=dict(use_reentrant=False))
        self.pretrained = dict(checkpoint=self.model_dir) if (
            load_weights and self.model_dir) else None
        self.pretrained_defaults = dict(ignore_keys=list(ignore_keys))
        self.use_attention_mask = use_attention_mask
        self.width = bert_cfg.hidden_size
        self.vocab_size = bert_cfg.vocab_size
        self.context_length = bert_cfg.max_position_embeddings

    def forward(self, input_ids: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """``input_ids [B, L]`` -> last-layer token features ``[B, L, H]``."""
        if input_ids.shape[1] > self.context_length:
            raise ValueError(f'{input_ids.shape[1]} tokens exceed BERT\'s '
                             f'{self.context_length} positions')
        mask = attention_mask if self.use_attention_mask else None
        if mask is None:
            mask = torch.ones_like(input_ids)
        out = self.bert(
            input_ids=input_ids, attention_mask=mask,
            token_type_ids=torch.zeros_like(input_ids))
        return out.last_hidden_state

    # ------------------------------------------------------------ weights
    def init_weights(self) -> None:
        """Load the folder's weights strictly (HF already initialised the
        modules at construction; mmengine must not re-initialise them)."""
        if self._is_init:
            return
        if self.pretrained is not None:
            self.load_pretrained()
        self._is_init = True

    def pretrained_target(self) -> torch.nn.Module:
        return self.bert

    def convert_state_dict(self, state_dict: dict, report) -> dict:
        """Rename old BERT keys; drop what this model does not have on
        purpose (``pooler.*`` without pooling layer, ``position_ids``)."""
        out = {}
        for key, value in state_dict.items():
            for pattern, new in OLD_BERT_KEYS:
                key = re.sub(pattern, new, key)
            out[key] = value
        own = self.bert.state_dict()
        for prefix, why in (('pooler.', 'no pooling layer '
                             '(add_pooling_layer=False)'),
                            ('embeddings.position_ids', 'a constant buffer')):
            extra = sorted(k for k in out
                           if k.startswith(prefix) and k not in own)
            report.drop(extra, why)
            for key in extra:
                out.pop(key)
        report.keep((k for k in own if k == 'embeddings.position_ids'
                     and k not in out), 'a constant buffer')
        return out
