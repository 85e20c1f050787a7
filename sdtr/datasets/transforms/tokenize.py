"""Tokenise the training caption inside the data pipeline (worker
processes), docs/training.md#speed."""
import logging
from typing import Optional

from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from sdtr.registry import TOKENIZERS, TRANSFORMS


#: ``TokenizeCaption(tokenizer=MODEL_TOKENIZER)`` in a config: the model's
#: own tokenizer, ``model.tokenizer`` of the same config
MODEL_TOKENIZER = 'model'


@TRANSFORMS.register_module()
class TokenizeCaption(BaseTransform):
    """Turn a training sample's ``text`` into token ids, in the data
    pipeline (so in the DataLoader workers, in parallel with the step).

    Adds ``text_tokens = dict(input_ids=LongTensor[L],
    attention_mask=LongTensor[L])`` and ``text_tokenizer`` (the tokenizer's
    ``repr``) to the results; ``PackRetrievalInputs`` packs both and the
    retriever stacks them (right-padding to the longest caption of the
    batch with the tokenizer's ``pad_token_id``, which is exactly what a
    ``padding='longest'`` tokenizer does on the whole batch), checking that
    ``text_tokenizer`` is its own tokenizer.  The caption string is kept, and
    test items (``texts``) are left alone: the model tokenises them in
    batches.  Numbers are the same as tokenising in the step.

    The training pipelines of the dataset configs declare it as
    ``dict(type='TokenizeCaption', tokenizer='model')``: the model's
    tokenizer, filled in from ``model.tokenizer`` when the config is loaded
    (:func:`sdtr.utils.load_config`, used by the tools), so the merged
    config shows the tokenizer the pipeline builds; a tokenizer config that
    differs from the model's is refused there.  Built from a config that was
    not loaded that way, ``'model'`` stays unbound: a warning is logged and
    captions pass through as strings (the model then tokenises them in the
    step; same numbers).  Remove the step to tokenise in the step.

    Args:
        tokenizer (dict | object | str): a ``TOKENIZERS`` config, a
            tokenizer, or ``'model'`` (see above).
    """

    def __init__(self, tokenizer):
        self.tokenizer = None
        if tokenizer == MODEL_TOKENIZER:
            print_log("TokenizeCaption(tokenizer='model') was not bound to "
                      'the model\'s tokenizer (load the config with '
                      'sdtr.utils.load_config): captions are tokenised in '
                      'the training step', logger='current',
                      level=logging.WARNING)
            return
        self.tokenizer = TOKENIZERS.build(tokenizer) if isinstance(
            tokenizer, dict) else tokenizer
        self._signature = repr(self.tokenizer)

    def transform(self, results: dict) -> Optional[dict]:
        if self.tokenizer is None or 'text' not in results:
            return results
        text = results['text']
        if not isinstance(text, str):
            raise TypeError(f'TokenizeCaption: sample '
                            f'{results.get("img_path")!r} has a '
                            f'{type(text).__name__} "text", expected a str')
        tokens = self.tokenizer([text])
        results['text_tokens'] = dict(
            input_ids=tokens['input_ids'][0],
            attention_mask=tokens['attention_mask'][0])
        results['text_tokenizer'] = self._signature
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(tokenizer={self.tokenizer!r})'
