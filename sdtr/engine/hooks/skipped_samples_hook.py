"""Log, in the training process, the samples skipped inside DataLoader
workers."""
import logging
from typing import List

from mmengine.hooks import Hook
from mmengine.logging import print_log

from sdtr.datasets.base_retrieval_dataset import collect_worker_skips
from sdtr.registry import HOOKS


def _summary(records: List[dict], limit: int = 10) -> str:
    """The records grouped by (annotation file, image): each group once,
    with its count and its first entry and reason."""
    groups = {}
    for r in records:
        groups.setdefault((r.get('file'), r.get('image')), []).append(r)
    parts = []
    for (file, _), recs in list(groups.items())[:limit]:
        times = f' ({len(recs)} times)' if len(recs) > 1 else ''
        parts.append(f"{file} [{recs[0]['entry']}]{times}: "
                     f"{recs[0]['reason']}")
    more = len(groups) - limit
    return '; '.join(parts) + (f' ... and {more} more images' if more > 0
                               else '')


@HOOKS.register_module()
class SkippedSamplesHook(Hook):
    """Read the skips made in DataLoader workers and log them.

    With ``skip_bad_samples=True`` a training sample whose image cannot be
    read is replaced by another one (see
    :class:`~sdtr.datasets.BaseRetrievalDataset`).  A DataLoader worker's
    copy of the dataset reports such a skip in the metainfo of the sample
    returned instead (``SKIPPED_META_KEY``, the dataset's own interface);
    after every training iteration this hook reads the records of the
    batch, keeps them in :attr:`skipped_samples` and logs a warning naming
    the annotation file, the entry and the image.  It changes nothing: the
    dataset object stays as the config built it.  Skips made in the
    training process (``num_workers=0``) are recorded and logged by the
    dataset itself (its ``skipped_samples``).  Registered in
    ``configs/_base_/default_runtime.py`` (``default_hooks.skipped_samples``).
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self.skipped_samples: List[dict] = []

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs=None) -> None:
        records = collect_worker_skips(data_batch)
        if not records:
            return
        self.skipped_samples.extend(records)
        dataset = getattr(runner.train_dataloader, 'dataset', None)
        print_log(
            f'{type(dataset).__name__} (train): {len(records)} samples '
            f'skipped in DataLoader workers at iteration {runner.iter + 1} '
            '(skip_bad_samples=True; each was replaced by another sample): '
            f'{_summary(records)}', logger='current',
            level=logging.WARNING)
