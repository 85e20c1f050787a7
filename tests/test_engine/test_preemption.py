"""A signal mid-epoch: checkpoint after the iteration in progress, clean exit
with 128 + signal, and ``resume='auto'`` continues mid-epoch, bit for bit.

sdtr's runner (``QuietSetupRunner``: sdtr's epoch loop, the resume that
finds the newest complete checkpoint) trains the tiny dropout regressor of
``test_exact_resume.py`` for 3 epochs of 6 batches, with the default hooks
``PreemptionHook``, ``ReproducibilityHook`` and ``AtomicCheckpointHook``.
Each run is a forked child.  A hook sends the signal to the child itself
(and, as Slurm does, to its DataLoader workers) before a chosen batch; the
resumed run must train exactly the (epoch, batch) positions the stopped run
did not, and end with the weights and val metrics of the uninterrupted run.
"""
import glob
import json
import multiprocessing as mp
import os
import os.path as osp
import signal
import sys

import pytest
import torch
from mmengine.hooks import Hook

from sdtr.engine.hooks import PreemptionHook, stop_exit_code
from sdtr.engine.runner import QuietSetupRunner
from test_exact_resume import EPOCHS, in_fork, runner_kwargs

BATCHES = 6  # per epoch: 24 samples, batch 4


class Positions(Hook):
    """Append every trained (epoch, batch_idx, iter) to positions.jsonl."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        with open(osp.join(runner.work_dir, 'positions.jsonl'), 'a') as f:
            f.write(json.dumps([runner.epoch, batch_idx, runner.iter]) +
                    '\n')


class SignalAt(Hook):
    """Send ``sig`` before batch ``batch`` of epoch ``epoch`` (1-based) to
    this process; with ``workers``, send it to the DataLoader workers one
    batch earlier (the next batch is loaded after they got it)."""

    priority = 'VERY_HIGH'

    def __init__(self, sig, epoch, batch, workers=False):
        self.sig, self.epoch, self.batch = sig, epoch, batch
        self.workers = workers

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.epoch != self.epoch - 1:
            return
        if self.workers and batch_idx == self.batch - 1:
            children = mp.active_children()
            assert children, 'expected DataLoader workers'
            for child in children:
                os.kill(child.pid, self.sig)
        if batch_idx == self.batch:
            os.kill(os.getpid(), self.sig)


def _train(work_dir, resume, signal_at, workers, by_epoch):
    torch.set_num_threads(1)
    hooks = [dict(type=Positions)]
    if signal_at:
        hooks.append(dict(type=SignalAt, **signal_at, workers=workers > 0))
    kwargs = runner_kwargs(work_dir, resume, tuple(hooks), workers)
    hooks = kwargs['default_hooks']
    hooks.update(logger=dict(type='LoggerHook', interval=1),
                 preemption=dict(type=PreemptionHook))
    if not by_epoch:  # the same 18 iterations, validated and saved every 6
        kwargs['train_cfg'] = dict(by_epoch=False, max_iters=EPOCHS * BATCHES,
                                   val_interval=BATCHES)
        hooks['checkpoint'].update(by_epoch=False, interval=BATCHES)
    # sdtr's runner: its loops, its resume
    runner = QuietSetupRunner(**dict(kwargs, default_scope='sdtr'))
    if by_epoch:
        assert type(runner.train_loop).__module__.startswith('sdtr.')
    runner.train()
    torch.save(runner.model.state_dict(), osp.join(work_dir, 'final.pt'))
    sys.exit(stop_exit_code(runner))


def _in_child(work_dir, resume=False, signal_at=None, workers=0,
              by_epoch=True):
    return in_fork(_train, work_dir, resume, signal_at, workers, by_epoch)


def _read(work_dir, name):
    with open(osp.join(work_dir, name)) as f:
        return [json.loads(line) for line in f]


def _log(work_dir):
    return '\n'.join(open(p).read() for p in sorted(
        glob.glob(osp.join(work_dir, '*', '*.log'))))


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    from mmengine.utils.dl_utils import collect_env
    collect_env()  # imported once, inherited by every forked child
    work = str(tmp_path_factory.mktemp('reference'))
    assert _in_child(work) == 0
    return dict(state=torch.load(osp.join(work, 'final.pt')),
                metrics=_read(work, 'metrics.jsonl'),
                positions=_read(work, 'positions.jsonl'))


@pytest.mark.parametrize('sig,batch,workers', [
    (signal.SIGTERM, 2, 0),
    # Slurm signals every process of a step: the DataLoader workers ignore
    # the signal while training runs (PyTorch's die of a foreign SIGTERM)
    (signal.SIGUSR1, 2, 2),
    (signal.SIGTERM, 2, 2),
    # the last batch of the epoch: the resumed run only ends the epoch
    (signal.SIGTERM, BATCHES - 1, 0),
])
def test_signal_saves_stops_and_resumes_mid_epoch_exactly(
        sig, batch, workers, reference, tmp_path):
    work = str(tmp_path / 'run')
    signal_at = dict(sig=sig, epoch=2, batch=batch)
    assert _in_child(work, signal_at=signal_at, workers=workers) == 128 + sig
    done = BATCHES + batch + 1  # the iteration in progress is finished
    stopped = _read(work, 'positions.jsonl')
    assert stopped == reference['positions'][:done]
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work, f'iter_{done}.pth')
    log = _log(work)
    assert f'{sig.name} received: saving a checkpoint after iteration ' \
        f'{done} and stopping (exit code {128 + sig})' in log
    # no validation of the unfinished epoch
    assert [m['epoch'] for m in _read(work, 'metrics.jsonl')] == [1]

    assert _in_child(work, resume='auto') == 0
    resumed = _read(work, 'positions.jsonl')[done:]
    assert stopped + resumed == reference['positions']
    assert resumed[0][:2] == ([1, batch + 1] if batch + 1 < BATCHES else
                              [2, 0])
    state = torch.load(osp.join(work, 'final.pt'))
    for key, value in reference['state'].items():
        assert torch.equal(state[key], value), key
    assert _read(work, 'metrics.jsonl') == reference['metrics']
    log = _log(work)
    assert f'resume: continuing from {work}/iter_{done}.pth' in log
    assert f'resumed epoch: 1, iter: {done}' in log
    # the stop checkpoint is deleted once a newer one is written
    assert not osp.exists(osp.join(work, f'iter_{done}.pth'))
    assert osp.isfile(osp.join(work, f'epoch_{EPOCHS}.pth'))


def test_resume_without_pointer_takes_the_newest_complete_checkpoint(
        reference, tmp_path):
    """last_checkpoint garbage, the newest checkpoint truncated: the resume
    takes the newest complete one (the epoch checkpoint), says so, and
    still ends bit-exact."""
    work = str(tmp_path / 'run')
    signal_at = dict(sig=signal.SIGTERM, epoch=2, batch=2)
    assert _in_child(work, signal_at=signal_at) == 128 + signal.SIGTERM
    pointer = osp.join(work, 'last_checkpoint')
    with open(pointer, 'wb') as f:
        f.write(b'\xff\xfe\x00garbage')
    newest = osp.join(work, f'iter_{BATCHES + 3}.pth')
    with open(newest, 'r+b') as f:
        f.truncate(os.path.getsize(newest) // 2)
    assert _in_child(work, resume='auto') == 0
    log = _log(work)
    assert f'resume: {pointer} is unreadable' in log
    assert f'resume: skipping {newest}: not a complete checkpoint' in log
    assert f'resume: taking {work}/epoch_1.pth, the newest complete ' \
        f'checkpoint of {work}' in log
    assert 'resumed epoch: 1, iter: 6' in log
    state = torch.load(osp.join(work, 'final.pt'))
    for key, value in reference['state'].items():
        assert torch.equal(state[key], value), key


def test_iteration_based_loop_stops_and_resumes_exactly(tmp_path):
    """The neighbouring path: mmengine's IterBasedTrainLoop with
    by_epoch=False checkpoints; the stop checkpoint is a regular one."""
    ref = str(tmp_path / 'ref')
    assert _in_child(ref, by_epoch=False) == 0
    work = str(tmp_path / 'run')
    signal_at = dict(sig=signal.SIGTERM, epoch=1, batch=BATCHES + 2)
    assert _in_child(work, signal_at=signal_at, by_epoch=False) == 143
    done = BATCHES + 3
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work, f'iter_{done}.pth')
    assert not osp.exists(osp.join(work, f'iter_{BATCHES}.pth'))  # rotated
    assert _in_child(work, resume='auto', by_epoch=False) == 0
    assert _read(work, 'positions.jsonl') == _read(ref, 'positions.jsonl')
    reference = torch.load(osp.join(ref, 'final.pt'))
    state = torch.load(osp.join(work, 'final.pt'))
    for key, value in reference.items():
        assert torch.equal(state[key], value), key
    assert _read(work, 'metrics.jsonl') == _read(ref, 'metrics.jsonl')
