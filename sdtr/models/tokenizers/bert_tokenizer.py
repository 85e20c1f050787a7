"""WordPiece tokenizer of a local Hugging Face BERT folder.

PIR-ITR tokenises captions with ``BertTokenizer`` (uncased WordPiece),
``[CLS] caption [SEP]``, ``padding='longest'`` and ``max_length=47``
(docs/methods/pir.md#11-pir-itr-settings).  Wraps ``BertTokenizerFast`` read
from a local folder only (``vocab.txt``; no network).  Captions longer than
``context_length`` are truncated (``[SEP]`` kept).
"""
from typing import Dict, Optional, Sequence, Union

import torch

from sdtr.registry import TOKENIZERS
from ..utils.hf_model_dir import resolve_model_dir


@TOKENIZERS.register_module()
class BertTokenizer:
    """BERT WordPiece tokenizer.

    Args:
        model_dir (str): local Hugging Face folder (or
            ``pkg://<package>/<sub>``) holding ``vocab.txt``.
        context_length (int): maximum tokens per caption, [CLS]/[SEP]
            included (47 in PIR-ITR).
        padding (str): ``'longest'`` (pad to the batch's longest caption, as
            released) or ``'max_length'``.
        do_lower_case (bool, optional): override the folder's setting.

    Calling it returns ``dict(input_ids=LongTensor[B, L],
    attention_mask=LongTensor[B, L])``.
    """

    def __init__(self,
                 model_dir: str,
                 context_length: int = 47,
                 padding: str = 'longest',
                 do_lower_case: Optional[bool] = None):
        from transformers import BertTokenizerFast
        if padding not in ('longest', 'max_length'):
            raise ValueError(f'padding must be "longest" or "max_length", '
                             f'got {padding!r}')
        self.model_dir = resolve_model_dir(model_dir)
        kwargs = {} if do_lower_case is None else dict(
            do_lower_case=do_lower_case)
        self._tok = BertTokenizerFast.from_pretrained(
            self.model_dir, local_files_only=True, **kwargs)
        self.context_length = int(context_length)
        self.padding = padding

    @property
    def vocab_size(self) -> int:
        return len(self._tok)

    @property
    def pad_token_id(self) -> int:
        return self._tok.pad_token_id

    @property
    def cls_token_id(self) -> int:
        return self._tok.cls_token_id

    def decode(self, ids: Union[Sequence[int], torch.Tensor]) -> str:
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        return self._tok.decode(ids, skip_special_tokens=True)

    def __call__(self, texts: Union[str, Sequence[str]]
                 ) -> Dict[str, torch.Tensor]:
        if isinstance(texts, str):
            texts = [texts]
        enc = self._tok(
            list(texts), padding=self.padding, truncation=True,
            max_length=self.context_length, return_tensors='pt')
        return dict(input_ids=enc['input_ids'].long(),
                    attention_mask=enc['attention_mask'].long())

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(model_dir={self.model_dir!r}, '
                f'context_length={self.context_length}, '
                f'padding={self.padding!r})')
