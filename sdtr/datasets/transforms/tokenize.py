"""Tokenise the training caption inside the data pipeline (worker
processes), docs/training.md#speed."""
from typing import Optional

from mmcv.transforms import BaseTransform

from sdtr.registry import TOKENIZERS, TRANSFORMS


@TRANSFORMS.register_module()
class TokenizeCaption(BaseTransform):
    """Turn a training sample's ``text`` into token ids.

    Adds ``text_tokens = dict(input_ids=LongTensor[L],
    attention_mask=LongTensor[L])`` and ``text_tokenizer`` (the tokenizer's
    ``repr``) to the results; ``PackRetrievalInputs`` packs both and the
    retriever stacks them (right-padding to the longest caption of the
    batch with the tokenizer's ``pad_token_id``, which is exactly what a
    ``padding='longest'`` tokenizer does on the whole batch), checking that
    ``text_tokenizer`` is its own tokenizer.  The caption string is kept, and
    test items (``texts``) are left alone: the model tokenises them in
    batches.

    Normally not written in configs: ``TokenizeInWorkersHook`` (a default
    hook) inserts one, bound to the model's own tokenizer, before
    ``PackRetrievalInputs`` of the training pipeline when training starts,
    so captions are tokenised in the DataLoader workers instead of in the
    training step.

    Args:
        tokenizer (dict | object, optional): a ``TOKENIZERS`` config or a
            tokenizer; ``None`` passes samples through until :meth:`bind`.
    """

    def __init__(self, tokenizer=None):
        self.tokenizer = None
        if tokenizer is not None:
            self.bind(TOKENIZERS.build(tokenizer) if isinstance(
                tokenizer, dict) else tokenizer)

    def bind(self, tokenizer) -> None:
        """Use ``tokenizer`` (the model's) from now on."""
        self.tokenizer = tokenizer
        self._signature = repr(tokenizer)

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
