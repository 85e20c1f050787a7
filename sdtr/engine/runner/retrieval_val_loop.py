"""Validation loop for image-text retrieval."""
from typing import Dict, List, Union

from mmengine.evaluator import Evaluator
from mmengine.runner import ValLoop
from torch.utils.data import DataLoader

from sdtr.registry import LOOPS
from .retrieval_utils import (EvalProgressMixin, check_retrieval_dataset,
                              log_gallery)


@LOOPS.register_module()
class RetrievalValLoop(EvalProgressMixin, ValLoop):
    """Run the model in predict mode once per gallery item and evaluate.

    The dataset must be in test mode: each item is one gallery image with
    all its captions, so every image and every caption is encoded exactly
    once (the model's ``predict`` returns ``img_feat`` and ``text_feats``).
    The evaluator (e.g. ``RSITRRecall`` / ``PersonSearchMetric``) gathers the
    features of all ranks and is called with ``len(dataset)``.

    Use the *val* split here (best-checkpoint selection must not see the
    test split); the test split belongs to :class:`RetrievalTestLoop`.

    Args:
        runner: the runner.
        dataloader (DataLoader | dict): val dataloader (test-mode dataset).
        evaluator (Evaluator | dict | list): the metrics.
        fp16 (bool): run the model under autocast. Defaults to False.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        check_retrieval_dataset(self.dataloader.dataset, 'val')

    def run(self) -> dict:
        log_gallery(self.dataloader.dataset, 'val')
        return self._run_with_progress('val', super().run)
