"""Zero-shot scene classification with any sdtr retriever."""
from typing import Dict, List, Union

import torch
import torch.nn.functional as F
from mmengine.evaluator import Evaluator
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import TestLoop, autocast
from torch.utils.data import DataLoader

from sdtr.registry import LOOPS


@LOOPS.register_module()
class ZeroShotClassificationLoop(TestLoop):
    """Classify a :class:`~sdtr.datasets.SceneFolderDataset` by prompts.

    Works for every model implementing the ``BaseRetriever`` interface
    (``encode_text``/``text_embedding``, ``encode_image``/
    ``image_embedding``).  Class embeddings (prompt ensembling, Radford et
    al. 2021 §3.1.4):

    .. math::  \\hat t_c = \\mathrm{normalize}\\Big(\\frac{1}{|T|}
               \\sum_{\\tau \\in T}
               \\mathrm{normalize}(g_t(\\tau(\\mathrm{name}_c)))\\Big)

    and every image gets the scores :math:`\\hat v^\\top \\hat t_c`
    (``pred_score``) for the metric (:class:`ZeroShotAccuracy`).

    Args:
        runner: the runner.
        dataloader (DataLoader | dict): a ``SceneFolderDataset`` loader.
        evaluator (Evaluator | dict | list): e.g. ``ZeroShotAccuracy``.
        fp16 (bool): run under autocast.
        text_batch_size (int): prompts encoded per forward.
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict],
                 evaluator: Union[Evaluator, Dict, List], fp16: bool = False,
                 text_batch_size: int = 256) -> None:
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
        if not hasattr(self.dataloader.dataset, 'class_prompts'):
            raise TypeError(
                'ZeroShotClassificationLoop needs a dataset with '
                'class_prompts() (SceneFolderDataset), got '
                f'{type(self.dataloader.dataset).__name__}')
        self.text_batch_size = text_batch_size
        self.class_embeddings = None

    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    @torch.no_grad()
    def class_embeddings_of(self, model, prompts: List[List[str]]
                            ) -> torch.Tensor:
        """``[C, D]`` unit class embeddings from per-class prompts."""
        flat = [p for ps in prompts for p in ps]
        feats = []
        for i in range(0, len(flat), self.text_batch_size):
            out = model.encode_text(flat[i:i + self.text_batch_size])
            feats.append(F.normalize(model.text_embedding(out).float(),
                                     dim=-1))
        feats = torch.cat(feats)
        out, pos = [], 0
        for ps in prompts:
            out.append(F.normalize(feats[pos:pos + len(ps)].mean(0), dim=-1))
            pos += len(ps)
        return torch.stack(out)

    def run(self) -> dict:
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        model = self._model(self.runner)
        dataset = self.dataloader.dataset
        prompts = dataset.class_prompts()
        with autocast(enabled=self.fp16):
            self.class_embeddings = self.class_embeddings_of(model, prompts)
        print_log(f'[zero-shot] {len(prompts)} classes x '
                  f'{len(prompts[0])} templates, {len(dataset)} images',
                  logger='current')
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(dataset))
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics

    @torch.no_grad()
    def run_iter(self, idx, data_batch) -> None:
        self.runner.call_hook('before_test_iter', batch_idx=idx,
                              data_batch=data_batch)
        model = self._model(self.runner)
        with autocast(enabled=self.fp16):
            data = model.data_preprocessor(data_batch, False)
            img = model.image_embedding(model.encode_image(data['inputs']))
        img = F.normalize(img.float(), dim=-1)
        scores = img @ self.class_embeddings.to(img.device).t()
        outputs = list(data['data_samples'])
        for sample, score in zip(outputs, scores):
            sample.set_pred_score(score)
        self.evaluator.process(data_samples=outputs, data_batch=data_batch)
        self.runner.call_hook('after_test_iter', batch_idx=idx,
                              data_batch=data_batch, outputs=outputs)
