"""ZeroShotAccuracy on known scores, and the zero-shot loop's class
embeddings (prompt ensembling) through the BaseRetriever interface."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from sdtr.engine.runner import ZeroShotClassificationLoop
from sdtr.evaluation import ZeroShotAccuracy


def _sample(scores, label):
    ds = DataSample().set_gt_label(label)
    ds.set_pred_score(torch.tensor(scores, dtype=torch.float))
    return ds.to_dict()


def test_top1_top5_known_values():
    metric = ZeroShotAccuracy()
    scores = torch.arange(6.).tolist()  # class 5 best, then 4, 3, ...
    metric.process(None, [_sample(scores, 5), _sample(scores, 4),
                          _sample(scores, 0), _sample(scores, 1)])
    out = metric.evaluate(4)
    assert out == {'zeroshot/top1': 25.0, 'zeroshot/top5': 75.0}
    small = ZeroShotAccuracy()  # 3 classes: top-5 is dropped, not 100%
    small.process(None, [_sample([0.1, 0.5, 0.2], 2)])
    assert small.evaluate(1) == {'zeroshot/top1': 0.0}
    with pytest.raises(KeyError, match='ZeroShotClassificationLoop'):
        ZeroShotAccuracy().process(None, [{'gt_label': torch.tensor([1])}])


class _FakeRetriever:
    """encode_text returns a fixed vector per prompt word count."""

    def encode_text(self, texts):
        return dict(global_=None, feats=torch.stack(
            [torch.tensor([float(len(t)), 1.0, 0.0]) for t in texts]))

    def text_embedding(self, out):
        return out['feats']


def test_prompt_ensembling_math():
    loop = ZeroShotClassificationLoop.__new__(ZeroShotClassificationLoop)
    loop.text_batch_size = 2
    prompts = [['ab', 'abcd'], ['abc', 'abc', 'abcdef']]
    got = loop.class_embeddings_of(_FakeRetriever(), prompts)
    exp = []
    for ps in prompts:
        f = F.normalize(torch.tensor([[len(p), 1., 0.] for p in ps]), dim=-1)
        exp.append(F.normalize(f.mean(0), dim=-1))
    torch.testing.assert_close(got, torch.stack(exp))
