"""TrainProgressHook: the first iteration logged at once, and a bar over the
run on a terminal that stays out of the log file."""
import glob
import io
import re
import sys

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from sdtr.engine.hooks import TrainProgressHook


class Data(Dataset):

    def __len__(self):
        return 12

    def __getitem__(self, i):
        return dict(inputs=torch.full((2, ), float(i)))


class Linear(BaseModel):

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=self.w(torch.stack(inputs)).pow(2).mean())


def _train(tmp_path, name, interval, bar):
    runner = Runner(
        model=Linear(), work_dir=str(tmp_path / name),
        train_dataloader=dict(dataset=Data(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler',
                                           shuffle=False),
                              collate_fn=dict(type='pseudo_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=interval),
                           checkpoint=None),
        custom_hooks=[dict(type=TrainProgressHook, bar=bar)],
        default_scope='sdtr', experiment_name=f'progress-{name}')
    runner.train()
    log, = glob.glob(str(tmp_path / name / '*' / '*.log'))
    return runner, open(log).read()


def _train_lines(log):
    return re.findall(r'Epoch\(train\)\s+\[(\d+)\]\[\s*(\d+)/6\]', log)


def test_first_iteration_is_logged_before_the_logger_interval(tmp_path):
    _, log = _train(tmp_path, 'a', interval=25, bar=False)
    # the first iteration, then the ends of the epochs (6 iterations each)
    assert _train_lines(log) == [('1', '1'), ('1', '6'), ('2', '6')]
    first, = [ln for ln in log.splitlines() if '[1][1/6]' in ln]
    assert 'eta:' in first and 'time:' in first and 'loss:' in first


def test_no_duplicate_when_the_logger_logs_it(tmp_path):
    _, log = _train(tmp_path, 'b', interval=1, bar=False)
    assert _train_lines(log).count(('1', '1')) == 1


def test_bar_on_the_console_not_in_the_log_file(tmp_path, monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, 'stderr', err)
    runner, log = _train(tmp_path, 'c', interval=3, bar=True)
    text = err.getvalue()
    assert re.search(r'train: 100%.*12/12', text), text
    assert '\r' not in log and 'it/s' not in log and '12/12' not in log
    # the console handlers write through the bar again only while it runs
    assert all(not type(getattr(h, 'stream', None)).__name__.startswith(
        '_BarSafe') for h in runner.logger.handlers)


def test_sdtr_progress_0_turns_the_bar_off(tmp_path, monkeypatch):
    err = io.StringIO()
    monkeypatch.setattr(sys, 'stderr', err)
    monkeypatch.setenv('SDTR_PROGRESS', '0')
    _train(tmp_path, 'd', interval=3, bar=True)
    assert 'train:' not in err.getvalue()
