"""CLIP byte-pair-encoding tokenizer (open_clip's ``SimpleTokenizer``).

The BPE vocabulary ``bpe_simple_vocab_16e6.txt.gz`` ships inside the
open_clip wheel, so no network is needed.  A caption becomes

.. math::  [\\mathrm{SOT}] + \\mathrm{BPE}(\\mathrm{clean}(t))
           + [\\mathrm{EOT}]

padded with 0 to ``context_length``; a longer sequence is cut to
``context_length`` tokens and its last token replaced by EOT (open_clip's and
IRRA's rule), so every row still ends with EOT and EOT is the largest id of
the row (``argmax`` pooling of the text tower).

Token ids (vocabulary size 49408):

=========================  =====  ======================================
token                      id     notes
=========================  =====  ======================================
pad                        0      also the id of the byte ``!`` (rare):
                                  use ``attention_mask``
``<start_of_text>`` (SOT)  49406
``<end_of_text>`` (EOT)    49407
``<|mask|>`` (optional)    49405  only with ``mask_token=True``
=========================  =====  ======================================

``mask_token=True`` follows IRRA's layout for masked-language-modelling
heads: the last BPE merge (``jekyll</w>``, id 49405) is given up and its id
becomes ``<|mask|>``, so the vocabulary stays 49408 and pretrained token
embeddings load unchanged, and ``mask < SOT < EOT`` keeps ``argmax`` pooling
on EOT.  Unlike IRRA (whose encoder raises ``KeyError`` on the word
"jekyll"), that word is then spelt with the remaining merges
(``jeky`` + ``ll</w>``).  The literal string ``<|mask|>`` inside a caption is
encoded as the mask id.  With ``mask_token=False`` (default) the ids equal
:func:`open_clip.tokenize` exactly.
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch

from sdtr.registry import TOKENIZERS

MASK_TOKEN = '<|mask|>'


@TOKENIZERS.register_module()
class CLIPTokenizer:
    """Wrap open_clip's ``SimpleTokenizer``.

    Args:
        context_length (int): tokens per caption (77 for CLIP).
        mask_token (bool): enable ``<|mask|>`` (id 49405, IRRA layout).
        clean (str): open_clip text cleaning: ``'lower'`` (default, as CLIP),
            ``'whitespace'`` or ``'canonicalize'``.

    Calling it on a list of captions returns
    ``dict(input_ids=LongTensor[B, L], attention_mask=LongTensor[B, L])``
    where ``attention_mask`` is 1 on SOT..EOT and 0 on padding.
    """

    def __init__(self,
                 context_length: int = 77,
                 mask_token: bool = False,
                 clean: str = 'lower'):
        from open_clip.tokenizer import SimpleTokenizer
        if context_length < 2:
            raise ValueError('context_length must be >= 2 (SOT and EOT)')
        self.context_length = int(context_length)
        self.clean = clean
        self._tok = SimpleTokenizer(context_length=None, clean=clean)
        self._mask_token_id = None
        if mask_token:
            # give up the last merge so its id can mean <|mask|>
            last_merge = max(self._tok.bpe_ranks, key=self._tok.bpe_ranks.get)
            merged = ''.join(last_merge)
            self._mask_token_id = self._tok.encoder[merged]
            self._tok.bpe_ranks = dict(self._tok.bpe_ranks)
            del self._tok.bpe_ranks[last_merge]
            self._tok.cache = {
                k: v for k, v in self._tok.cache.items() if k == v
            }
            self._tok.decoder = copy.copy(self._tok.decoder)
            self._tok.decoder[self._mask_token_id] = MASK_TOKEN + '</w>'

    # ------------------------------------------------------------------ ids
    @property
    def sot_token_id(self) -> int:
        return self._tok.sot_token_id

    @property
    def eot_token_id(self) -> int:
        return self._tok.eot_token_id

    @property
    def pad_token_id(self) -> int:
        return 0

    @property
    def mask_token_id(self) -> Optional[int]:
        """49405 with ``mask_token=True``, else None."""
        return self._mask_token_id

    @property
    def vocab_size(self) -> int:
        return self._tok.vocab_size

    @property
    def special_token_ids(self) -> List[int]:
        ids = [self.sot_token_id, self.eot_token_id]
        if self._mask_token_id is not None:
            ids.append(self._mask_token_id)
        return ids

    # ------------------------------------------------------------- encoding
    def encode(self, text: str) -> List[int]:
        """BPE ids of ``text`` without SOT/EOT."""
        if self._mask_token_id is None or MASK_TOKEN not in text:
            return self._tok.encode(text)
        ids: List[int] = []
        for i, part in enumerate(text.split(MASK_TOKEN)):
            if i:
                ids.append(self._mask_token_id)
            if part.strip():
                ids.extend(self._tok.encode(part))
        return ids

    def decode(self, ids: Union[Sequence[int], torch.Tensor],
               skip_special_tokens: bool = True) -> str:
        """Text of ``ids`` (padding and, by default, SOT/EOT dropped)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        skip = {self.sot_token_id, self.eot_token_id}
        out = []
        for i in ids:
            if i == self.eot_token_id and not skip_special_tokens:
                out.append(i)
                break
            if i == self.eot_token_id:
                break
            if skip_special_tokens and i in skip:
                continue
            out.append(i)
        return self._tok.decode(out).strip()

    def __call__(self,
                 texts: Union[str, Sequence[str]],
                 context_length: Optional[int] = None
                 ) -> Dict[str, torch.Tensor]:
        """Tokenise captions.

        Args:
            texts (str | Sequence[str]): captions.
            context_length (int, optional): override of the default length.

        Returns:
            dict: ``input_ids`` and ``attention_mask``, LongTensor ``[B, L]``.
        """
        if isinstance(texts, str):
            texts = [texts]
        length = int(context_length or self.context_length)
        input_ids = torch.zeros(len(texts), length, dtype=torch.long)
        attention_mask = torch.zeros(len(texts), length, dtype=torch.long)
        for row, text in enumerate(texts):
            tokens = [self.sot_token_id] + self.encode(text) + \
                [self.eot_token_id]
            if len(tokens) > length:
                tokens = tokens[:length]
                tokens[-1] = self.eot_token_id
            input_ids[row, :len(tokens)] = torch.tensor(tokens)
            attention_mask[row, :len(tokens)] = 1
        return dict(input_ids=input_ids, attention_mask=attention_mask)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(context_length='
                f'{self.context_length}, mask_token='
                f'{self._mask_token_id is not None}, clean={self.clean!r})')
