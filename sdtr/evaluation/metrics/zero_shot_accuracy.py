"""Top-k accuracy of zero-shot scene classification."""
from typing import Sequence, Union

from mmpretrain.evaluation.metrics import Accuracy

from sdtr.registry import METRICS


@METRICS.register_module()
class ZeroShotAccuracy(Accuracy):
    """Top-1 / top-5 accuracy (%) of zero-shot classification.

    The predicted class of an image is :math:`\\arg\\max_c \\hat v^\\top
    \\hat t_c` over the prompt-ensembled class embeddings
    :math:`\\hat t_c`; :class:`~sdtr.engine.runner.ZeroShotClassificationLoop`
    writes the scores :math:`\\hat v^\\top \\hat t_c` to ``pred_score``.
    This is mmpretrain's :class:`Accuracy` (exact, distributed-safe) with
    the keys ``zeroshot/top1`` and ``zeroshot/top5`` and a clear error when
    a sample carries no score.

    Args:
        topk (int | Sequence[int]): K values (1, 5).
        prefix (str): key prefix (``'zeroshot'``).
        collect_device (str): device used to gather results.
    """

    default_prefix = 'zeroshot'

    def __init__(self, topk: Union[int, Sequence[int]] = (1, 5),
                 prefix: str = 'zeroshot', collect_device: str = 'cpu'):
        super().__init__(topk=topk, thrs=0., collect_device=collect_device,
                         prefix=prefix)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_score' not in sample or 'gt_label' not in sample:
                raise KeyError(
                    'ZeroShotAccuracy needs pred_score and gt_label on every '
                    'sample: run it with ZeroShotClassificationLoop on a '
                    f'SceneFolderDataset (got keys {sorted(sample)})')
        super().process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict:
        num_classes = results[0]['pred_score'].numel() if results else 0
        too_big = [k for k in self.topk if k > num_classes]
        if too_big:
            # top-k with k > number of classes is trivially 100%: drop it
            self.topk = tuple(k for k in self.topk if k <= num_classes)
        metrics = super().compute_metrics(results)
        return {k.replace('_thr-0.00', ''): v for k, v in metrics.items()}
