"""Test loop for image-text retrieval."""
from typing import Dict, List, Union

from mmengine.evaluator import Evaluator
from mmengine.runner import TestLoop
from torch.utils.data import DataLoader

from sdtr.registry import LOOPS
from .retrieval_utils import (EvalProgressMixin, check_retrieval_dataset,
                              log_gallery)


@LOOPS.register_module()
class RetrievalTestLoop(EvalProgressMixin, TestLoop):
    """Test counterpart of :class:`RetrievalValLoop`.

    Each gallery image and each caption is encoded once (test-mode dataset,
    predict mode); the evaluator is called with ``len(dataset)``.

    Args:
        runner: the runner.
        dataloader (DataLoader | dict): test dataloader (test-mode dataset).
        evaluator (Evaluator | dict | list): the metrics.
        fp16 (bool): run the model under autocast (fp16 on CUDA, the CPU
            autocast dtype on CPU). Defaults to False.
    """

    def __init__(self,
                 runner,
                 dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List],
                 fp16: bool = False) -> None:
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        check_retrieval_dataset(self.dataloader.dataset, 'test')

    def run(self) -> dict:
        log_gallery(self.dataloader.dataset, 'test')
        return self._run_with_progress('test', super().run)
