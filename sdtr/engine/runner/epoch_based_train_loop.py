"""mmengine's epoch-based training loop, continuing and stopping mid-epoch.

mmengine's ``EpochBasedTrainLoop`` knows only whole epochs: resumed from a
checkpoint written in the middle of an epoch (an ``iter_N.pth``) it trains
that epoch again from its first batch, and ``stop_training`` is only looked
at between epochs.  sdtr's loop, registered under the same name in the sdtr
scope (``train_cfg=dict(by_epoch=True)`` builds it in sdtr's runner,
``type='mmengine.EpochBasedTrainLoop'`` still gives mmengine's), changes
two things:

* **Resume mid-epoch.**  With ``iter`` trained iterations at epoch ``e``
  the epoch continues at batch ``iter - e * len(dataloader)``; the batch
  sampler skips the indices of the batches already trained, nothing is
  loaded for them, and ``batch_idx`` continues where it stopped.  With the
  per-sample seeding of ``ReproducibilityHook`` the resumed run trains on
  exactly the batches and augmentations of the uninterrupted one.  Where
  the sampler cannot skip (an iterable dataset such as webdataset shards, a
  custom batch sampler) the batches are read and dropped, and one warning
  says so (for an iterable dataset they need not be the batches the
  interrupted run trained on).
* **Stop at an iteration boundary.**  When ``stop_training`` is set during
  an iteration (``PreemptionHook`` on SIGTERM/SIGUSR1; the checkpoint hook
  then saves ``iter_N.pth``), the loop ends after that iteration, without
  the epoch-end hooks and validation of an epoch it did not finish.

See ``docs/training.md`` (section "Preemption").
"""
import itertools
from contextlib import contextmanager
from typing import Iterator, Tuple

from mmengine.runner import EpochBasedTrainLoop as _MMEngineEpochLoop
from torch.utils.data import BatchSampler, IterableDataset

from sdtr.registry import LOOPS


class _SkipFirst:
    """A sampler whose iteration starts ``count`` indices into ``sampler``
    (its length and every other attribute are ``sampler``'s)."""

    def __init__(self, sampler, count: int) -> None:
        self.sampler = sampler
        self.count = count

    def __iter__(self):
        return itertools.islice(iter(self.sampler), self.count, None)

    def __len__(self) -> int:
        return len(self.sampler)

    def __getattr__(self, name):
        return getattr(self.sampler, name)


@contextmanager
def batches_from(loader, start: int,
                 logger=None) -> Iterator[Iterator[Tuple[int, object]]]:
    """``(batch_idx, batch)`` of one pass over ``loader``, from batch
    ``start`` on (see the module doc for how the first ``start`` are
    skipped)."""
    batch_sampler = getattr(loader, 'batch_sampler', None)
    if start == 0:
        yield enumerate(loader)
        return
    if isinstance(batch_sampler, BatchSampler) and not isinstance(
            loader.dataset, IterableDataset):
        sampler = batch_sampler.sampler
        batch_sampler.sampler = _SkipFirst(sampler,
                                           start * batch_sampler.batch_size)
        try:
            yield enumerate(loader, start)
        finally:
            batch_sampler.sampler = sampler
        return
    if logger is not None:
        what = type(loader.dataset).__name__
        logger.warning(
            f'resuming mid-epoch: {what} cannot skip at the sampler level, '
            f'so the {start} batches of this epoch trained before the '
            'checkpoint are read again and dropped' +
            (' (an iterable dataset may not give the same batches again)'
             if isinstance(loader.dataset, IterableDataset) else ''))
    yield itertools.islice(enumerate(loader), start, None)


@LOOPS.register_module()
class EpochBasedTrainLoop(_MMEngineEpochLoop):
    """``mmengine.runner.EpochBasedTrainLoop`` (same arguments) that
    resumes in the middle of an epoch and stops at an iteration boundary
    when ``stop_training`` is set (see the module doc)."""

    def run(self):
        self.runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            if not self.run_epoch():
                break  # stopped mid-epoch: no validation
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None
                    and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0
                         or self._epoch == self._max_epochs)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> bool:
        """Train the rest of the current epoch; False when
        ``stop_training`` ended it early."""
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        length = len(self.dataloader)
        start = self._iter - self._epoch * length
        if not 0 <= start <= length:
            self.runner.logger.warning(
                f'iteration {self._iter} is not in epoch {self._epoch + 1} '
                f'of {length} batches (the batch size or the number of '
                'processes changed since the checkpoint): the epoch is '
                'trained from its first batch')
            start = 0
        with batches_from(self.dataloader, start,
                          self.runner.logger) as batches:
            for idx, data_batch in batches:
                self.run_iter(idx, data_batch)
                if self.stop_training:
                    return False
        self.runner.call_hook('after_train_epoch')
        self._epoch += 1
        return True
