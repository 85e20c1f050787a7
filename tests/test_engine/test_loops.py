"""RetrievalValLoop / RetrievalTestLoop through a real mmengine Runner."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmpretrain.structures import DataSample
from torch.utils.data import Dataset

from sdtr.engine.runner import RetrievalTestLoop, RetrievalValLoop
from sdtr.evaluation.functional import (person_search_metrics_from_features,
                                        rsitr_recall_from_features)
from sdtr.registry import MODELS

N_IMG, D = 5, 4
CAPS = [2, 1, 3, 1, 2]
PIDS = [0, 0, 1, 2, 2]
GEN = torch.Generator().manual_seed(0)
IMG = torch.round(torch.randn(N_IMG, D, generator=GEN) * 4) / 4
TXT = torch.round(torch.randn(sum(CAPS), D, generator=GEN) * 4) / 4
TXT2IMG = torch.repeat_interleave(torch.arange(N_IMG), torch.tensor(CAPS))


class TinyRetrievalDataset(Dataset):
    """Test-mode items: one gallery image with its captions."""

    def __init__(self, test_mode=True):
        self.test_mode = test_mode
        self.num_images = N_IMG
        self.num_texts = sum(CAPS)
        self.metainfo = dict(dataset_name='tiny')

    def __len__(self):
        return N_IMG

    def __getitem__(self, i):
        ids = (TXT2IMG == i).nonzero().flatten().tolist()
        meta = dict(sample_idx=i, image_id=i, pid=PIDS[i], text_ids=ids,
                    text_pids=[PIDS[i]] * len(ids),
                    texts=[f'caption {t}' for t in ids])
        return dict(inputs=torch.zeros(3, 2, 2, dtype=torch.uint8),
                    data_samples=DataSample(metainfo=meta))


@MODELS.register_module(name='TestFixedFeatureRetriever', force=True)
class FixedFeatureRetriever(BaseModel):
    """Returns fixed features; counts how often each item is encoded."""

    def __init__(self):
        super().__init__()
        self.register_buffer('img', IMG.clone())
        self.register_buffer('txt', TXT.clone())
        self.calls = dict(images=[], texts=[])
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        assert mode == 'predict', mode
        assert len(inputs) == len(data_samples)
        for s in data_samples:
            self.calls['images'].append(s.image_id)
            self.calls['texts'].extend(s.text_ids)
            s.set_field(self.img[s.image_id], 'img_feat')
            s.set_field(self.txt[s.text_ids], 'text_feats')
        return data_samples


def expected():
    pids = torch.tensor(PIDS)
    rs = {f'rsitr/{k}': v
          for k, v in rsitr_recall_from_features(IMG, TXT, TXT2IMG).items()}
    ps = {f'person/{k}': v for k, v in person_search_metrics_from_features(
        TXT, IMG, pids[TXT2IMG], pids).items()}
    return rs, ps


def make_runner(tmp_path, stage, dataset, fp16=False, name='loop'):
    loader = dict(dataset=dataset, batch_size=2, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False),
                  collate_fn=dict(type='pseudo_collate'))
    evaluator = [dict(type='RSITRRecall'), dict(type='PersonSearchMetric')]
    kw = {
        f'{stage}_dataloader': loader,
        f'{stage}_cfg': dict(
            type='RetrievalValLoop' if stage == 'val' else
            'RetrievalTestLoop', fp16=fp16),
        f'{stage}_evaluator': evaluator,
    }
    return Runner(
        model=dict(type='TestFixedFeatureRetriever'),
        work_dir=str(tmp_path),
        default_scope='sdtr',
        experiment_name=f'{name}_{stage}_{id(dataset)}',
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        log_level='WARNING',
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        **kw)


@pytest.mark.parametrize('stage', ['val', 'test'])
def test_loop_through_runner(tmp_path, stage):
    runner = make_runner(tmp_path, stage, TinyRetrievalDataset(),
                         fp16=(stage == 'test'))
    metrics = runner.val() if stage == 'val' else runner.test()
    loop = runner.val_loop if stage == 'val' else runner.test_loop
    assert isinstance(loop, RetrievalValLoop if stage == 'val' else
                      RetrievalTestLoop)
    rs, ps = expected()
    assert metrics == {**rs, **ps}
    # every image and every caption encoded exactly once
    calls = runner.model.calls
    assert sorted(calls['images']) == list(range(N_IMG))
    assert sorted(calls['texts']) == list(range(sum(CAPS)))


@pytest.mark.parametrize('stage', ['val', 'test'])
def test_loop_refuses_train_mode_dataset(tmp_path, stage):
    runner = make_runner(tmp_path, stage, TinyRetrievalDataset(False),
                         name='refuse')
    with pytest.raises(ValueError, match='test_mode=True'):
        runner.val() if stage == 'val' else runner.test()


@pytest.mark.parametrize('stage', ['val', 'test'])
def test_encoding_summary_comes_before_the_metrics(tmp_path, stage):
    """The progress summary is logged when the last batch is encoded, so
    the log reads in order: encoding, then the metrics."""
    import glob
    runner = make_runner(tmp_path, stage, TinyRetrievalDataset(),
                         name='order')
    runner.logger.setLevel('INFO')
    for handler in runner.logger.handlers:
        handler.setLevel('INFO')
    runner.val() if stage == 'val' else runner.test()
    log, = glob.glob(str(tmp_path / '*' / '*.log'))
    lines = open(log).read().splitlines()
    summary = [i for i, ln in enumerate(lines)
               if f'[{stage}] encoding: {N_IMG} items in' in ln]
    metrics = [i for i, ln in enumerate(lines) if 'rsitr/mR' in ln]
    assert len(summary) == 1 and len(metrics) == 1, lines
    assert summary[0] < metrics[0], lines
