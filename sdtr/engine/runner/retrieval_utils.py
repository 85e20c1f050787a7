"""Helpers shared by the retrieval val/test loops."""
import torch.distributed as torch_dist
from mmengine.logging import print_log


def check_retrieval_dataset(dataset, stage: str) -> None:
    """Refuse a dataset that is not a test-mode retrieval dataset.

    A test-mode dataset yields one item per gallery image carrying all its
    captions, which is what the retrieval metrics need; a train-mode one
    (one item per caption) would encode every image several times and
    break the metrics' completeness check.
    """
    test_mode = getattr(dataset, 'test_mode', None)
    if test_mode is not True:
        raise ValueError(
            f'the {stage} dataloader of a retrieval loop needs a dataset '
            f'with test_mode=True (one item per gallery image with its '
            f'captions); got {type(dataset).__name__} with test_mode='
            f'{test_mode!r}. Set test_mode=True in the {stage}_dataloader '
            'dataset config.')


def log_gallery(dataset, stage: str) -> None:
    num_images = getattr(dataset, 'num_images', len(dataset))
    num_texts = getattr(dataset, 'num_texts', None)
    world = torch_dist.get_world_size() if (
        torch_dist.is_available() and torch_dist.is_initialized()) else 1
    print_log(
        f'[{stage}] retrieval on {type(dataset).__name__}: gallery '
        f'{num_images} images, {num_texts if num_texts is not None else "?"}'
        f' captions (each encoded once), {world} process(es)',
        logger='current')


class EvalProgressMixin:
    """Progress of a val/test loop (:class:`sdtr.utils.progress.Progress`):
    a bar on a terminal, else a log line every 30 s with items/s and the
    time left, and a summary line when the last batch is encoded (before
    the metrics are computed and logged); rank 0 only, counting the items
    that rank encodes."""

    def _start_progress(self, stage: str) -> None:
        from mmengine.dist import is_main_process

        from sdtr.utils.progress import Progress
        loader = self.dataloader
        sampler = getattr(loader, 'sampler', None)
        total = len(sampler) if hasattr(sampler, '__len__') else len(
            loader.dataset)
        self._progress = Progress(total, f'[{stage}] encoding',
                                  unit='item', enabled=is_main_process())

    def run_iter(self, idx, data_batch) -> None:
        super().run_iter(idx, data_batch)
        progress = getattr(self, '_progress', None)
        if progress is not None:
            inputs = data_batch.get('inputs') if isinstance(
                data_batch, dict) else None
            progress.update(len(inputs) if inputs is not None else 1)
            if progress.total and progress.done >= progress.total:
                progress.close()  # encoding done: before the metrics

    def _run_with_progress(self, stage: str, run) -> dict:
        self._start_progress(stage)
        try:
            return run()
        finally:
            self._progress.close()
            self._progress = None
