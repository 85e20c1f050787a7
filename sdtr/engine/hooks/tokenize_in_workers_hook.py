"""Tokenise training captions in the DataLoader workers
(docs/training.md#speed)."""
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from sdtr.datasets.utils import iter_wrapped_datasets
from sdtr.registry import HOOKS


def _pipelines(dataset):
    """The ``Compose`` pipelines of ``dataset`` and of the datasets it wraps
    (``ConcatDataset.datasets``, ``RepeatDataset.dataset``, ...)."""
    for ds in iter_wrapped_datasets(dataset):
        pipeline = getattr(ds, 'pipeline', None)
        if pipeline is not None and isinstance(
                getattr(pipeline, 'transforms', None), list):
            yield pipeline


def bind_tokenizer(dataset, tokenizer) -> int:
    """Make every training pipeline of ``dataset`` tokenise its captions with
    ``tokenizer``: bind the ``TokenizeCaption`` transforms it has, or insert
    one before ``PackRetrievalInputs``.  Returns the number of pipelines
    that now tokenise."""
    from sdtr.datasets.transforms import PackRetrievalInputs, TokenizeCaption
    done = 0
    for pipeline in _pipelines(dataset):
        transforms = pipeline.transforms
        existing = [t for t in transforms if isinstance(t, TokenizeCaption)]
        for t in existing:
            t.bind(tokenizer)
        if not existing:
            packs = [i for i, t in enumerate(transforms)
                     if isinstance(t, PackRetrievalInputs)]
            if not packs:
                continue
            transforms.insert(packs[0], TokenizeCaption(tokenizer))
        done += 1
    return done


@HOOKS.register_module()
class TokenizeInWorkersHook(Hook):
    """Before training starts (before the DataLoader workers are created),
    bind the model's tokenizer into the training pipeline, so that captions
    are tokenised in the worker processes, in parallel with the step, like
    the images are decoded; the retriever then takes the ready token ids
    (``BaseRetriever.get_text_inputs``).  Numbers are unchanged: the same
    tokenizer produces the same ids.

    Disable with ``default_hooks.tokenize_in_workers=None`` (captions are
    then tokenised inside the training step).  Val/test captions are always
    tokenised by the model, in batches.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        tokenizer = getattr(model, 'tokenizer', None)
        if tokenizer is None:
            return
        loader = runner.train_dataloader
        n = bind_tokenizer(getattr(loader, 'dataset', None), tokenizer)
        if n:
            print_log(f'training captions are tokenised in the data pipeline '
                      f'(DataLoader workers) by {tokenizer!r}',
                      logger='current')
        else:
            print_log('TokenizeInWorkersHook: no training pipeline with '
                      'PackRetrievalInputs found; captions are tokenised in '
                      'the training step', logger='current')
