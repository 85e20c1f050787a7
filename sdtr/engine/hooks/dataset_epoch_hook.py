"""Tell streaming (iterable) training datasets the current epoch."""
from mmengine.hooks import Hook

from sdtr.registry import HOOKS


@HOOKS.register_module()
class DatasetEpochHook(Hook):
    """Call ``dataset.set_epoch(runner.epoch)`` before every train epoch.

    mmengine's ``DistSamplerSeedHook`` seeds a *sampler*; an
    ``IterableDataset`` such as
    :class:`~sdtr.datasets.WebDatasetCaptionDataset`
    has none, so its shard permutation and shuffle buffer get the epoch
    here (datasets without ``set_epoch`` are left alone).
    """

    priority = 'NORMAL'

    def before_train_epoch(self, runner) -> None:
        dataset = getattr(runner.train_loop.dataloader, 'dataset', None)
        set_epoch = getattr(dataset, 'set_epoch', None)
        if callable(set_epoch):
            set_epoch(runner.epoch)
