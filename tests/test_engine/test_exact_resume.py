"""SIGKILL at several points + resume == an uninterrupted run, bit for bit.

A tiny regression model with dropout (main-process RNG) trains on data with
random augmentation drawn from numpy, torch and ``random`` inside 2
persistent DataLoader workers, validating and keeping the best checkpoint
every epoch.  Each run is a forked child process; kill points are SIGKILLs
at controlled places (mid-iteration, mid-checkpoint-write, between the
checkpoint and its ``last_checkpoint`` pointer, while the best checkpoint
is written during validation).  The killed run is resumed (``resume=True``,
the latest checkpoint of the work_dir) and must end with weights equal
(``torch.equal``) to the uninterrupted run's and the same val metrics.
"""
import json
import multiprocessing as mp
import os
import os.path as osp
import random
import signal
import time

import numpy as np
import pytest
import torch
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from sdtr.datasets.samplers import SeededSampler
from sdtr.engine.hooks import (AtomicCheckpointHook, NonFiniteCheckHook,
                               ReproducibilityHook)
from sdtr.engine.hooks import atomic_checkpoint_hook as ach
from sdtr.utils.rng import SeededSamplesMixin

EPOCHS = 3
W = torch.tensor([1.0, -2.0, 0.5, 3.0])


class _Data(Dataset):
    """y = x @ W; training inputs get noise from numpy, torch and random."""

    def __init__(self, n, augment):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.augment = augment

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        x = self.x[i]
        if self.augment:
            x = x + 0.3 * torch.from_numpy(np.random.randn(4).astype(
                np.float32)) + 0.3 * torch.rand(4) + 0.3 * random.random()
        return dict(inputs=x, targets=self.x[i] @ W)


class AugData(SeededSamplesMixin, _Data):
    """The noise drawn from the seed the sampler gives each index."""


class DropoutRegressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.drop = torch.nn.Dropout(0.3)
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        pred = self.linear(self.drop(inputs)).squeeze(-1)
        if mode == 'loss':
            return dict(loss=((pred - targets)**2).mean())
        return [dict(err=float(e)) for e in (pred - targets).abs()]


class MAE(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results += [s['err'] for s in data_samples]

    def compute_metrics(self, results):
        return dict(mae=float(np.mean(results)))


class Record(Hook):
    """Write every val metric to <work_dir>/metrics.jsonl (append)."""

    def after_val_epoch(self, runner, metrics=None):
        with open(osp.join(runner.work_dir, 'metrics.jsonl'), 'a') as f:
            f.write(json.dumps(dict(epoch=runner.epoch, **metrics)) + '\n')


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


class KillAt(Hook):
    """SIGKILL this process at a controlled point of epoch ``epoch``
    (1-based, as the checkpoint names)."""

    priority = 'VERY_HIGH'

    def __init__(self, point, epoch=2):
        self.point, self.epoch = point, epoch

    def before_train(self, runner):
        hook = self
        if self.point in ('ckpt_write', 'best_write'):
            put = ach.AtomicLocalBackend.put
            name = f'epoch_{self.epoch}.pth'

            def partial_put(backend, obj, filepath):
                target = osp.basename(str(filepath))
                hit = target == name if hook.point == 'ckpt_write' else (
                    target.startswith('best_') and target.endswith(name))
                if hit:  # half of the bytes reach the disk, then death
                    with open(f'{filepath}.partial-{os.getpid()}',
                              'wb') as f:
                        f.write(obj[:len(obj) // 2])
                    _die()
                put(backend, obj, filepath)

            ach.AtomicLocalBackend.put = partial_put
        elif self.point == 'pointer':
            write = ach.AtomicCheckpointHook._write_pointer

            def die_before_pointer(ckpt_hook, runner_):
                if ckpt_hook.last_ckpt.endswith(f'epoch_{hook.epoch}.pth'):
                    _die()
                write(ckpt_hook, runner_)

            ach.AtomicCheckpointHook._write_pointer = die_before_pointer

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.point == 'iter' and runner.epoch == self.epoch - 1 and \
                batch_idx == 2:
            _die()



def runner_kwargs(work_dir, resume=False, hooks=(), workers=2,
                  persistent=True, validate=True):
    """The Runner of these tests (3 epochs of 6 batches, checkpoint and
    best checkpoint every epoch), as keyword arguments."""
    val = dict(
        val_dataloader=dict(
            dataset=AugData(8, augment=False),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=4, num_workers=0,
            collate_fn=dict(type='default_collate')),
        val_evaluator=dict(type=MAE),
        val_cfg=dict()) if validate else {}
    return dict(
        model=DropoutRegressor(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=AugData(24, augment=True),
            sampler=dict(type=SeededSampler, shuffle=True),
            batch_size=4, num_workers=workers,
            persistent_workers=persistent and workers > 0,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=EPOCHS, val_interval=1),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.1)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=100),
            checkpoint=dict(type=AtomicCheckpointHook, interval=1,
                            max_keep_ckpts=1,
                            save_best='mae' if validate else None,
                            rule='less'),
            non_finite=dict(type=NonFiniteCheckHook),
            reproducibility=dict(type=ReproducibilityHook)),
        custom_hooks=[dict(type=Record), *hooks],
        randomness=dict(seed=5),
        resume=resume,
        env_cfg=dict(mp_cfg=dict(mp_start_method='fork')),
        default_scope='sdtr',
        experiment_name=f'resume-{abs(hash((work_dir, resume, repr(hooks))))}',
        **val)


def _train(work_dir, resume, kill, options):
    from sdtr.engine.runner import CheckpointRunner
    torch.set_num_threads(1)
    hooks = (dict(type=KillAt, point=kill), ) if kill else ()
    runner = CheckpointRunner(**runner_kwargs(work_dir, resume, hooks, **options))
    runner.train()
    torch.save(runner.model.state_dict(), osp.join(work_dir, 'final.pt'))


def in_fork(target, *args):
    """Run ``target(*args)`` in a forked child; its exit code."""
    proc = mp.get_context('fork').Process(target=target, args=args)
    proc.start()
    # poll the exit status: join() would also wait for the DataLoader
    # workers of a killed child, which hold its sentinel pipe until their
    # watchdog notices (seconds)
    deadline = time.monotonic() + 300
    while proc.exitcode is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc.exitcode


def _in_child(work_dir, resume=False, kill=None, **options):
    return in_fork(_train, work_dir, resume, kill, options)


def _metrics(work_dir):
    with open(osp.join(work_dir, 'metrics.jsonl')) as f:
        return {r['epoch']: r['mae'] for r in map(json.loads, f)}


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    # Every Runner logs mmengine's collect_env(), whose first call imports
    # half of the stack (~1.5 s); calling it once here lets every forked
    # child inherit those imports.
    from mmengine.utils.dl_utils import collect_env
    collect_env()
    work = str(tmp_path_factory.mktemp('reference'))
    assert _in_child(work) == 0
    return dict(state=torch.load(osp.join(work, 'final.pt')),
                metrics=_metrics(work))


@pytest.mark.parametrize('kill', ['iter', 'ckpt_write', 'pointer',
                                  'best_write'])
def test_killed_and_resumed_run_is_bit_exact(kill, reference, tmp_path):
    work = str(tmp_path / 'run')
    assert _in_child(work, kill=kill) == -signal.SIGKILL
    # whatever the kill point, the pointer names a complete checkpoint
    with open(osp.join(work, 'last_checkpoint')) as f:
        latest = f.read().strip()
    assert latest.endswith('epoch_2.pth' if kill == 'best_write' else
                           'epoch_1.pth')
    from sdtr.checkpoint import open_checkpoint
    checkpoint = open_checkpoint(latest)
    assert 'rng_state' in checkpoint.obj and checkpoint.sealed
    if kill in ('iter', 'ckpt_write'):  # no (partial) file under the name
        assert not osp.exists(osp.join(work, 'epoch_2.pth'))

    assert _in_child(work, resume=True) == 0
    state = torch.load(osp.join(work, 'final.pt'))
    for key, value in reference['state'].items():
        assert torch.equal(state[key], value), (kill, key)
    metrics = _metrics(work)
    assert metrics[EPOCHS] == reference['metrics'][EPOCHS]
    for epoch, mae in metrics.items():
        assert mae == reference['metrics'][epoch], (kill, epoch)
    assert not [f for f in os.listdir(work) if '.partial-' in f]
    best = [f for f in os.listdir(work) if f.startswith('best_')]
    assert len(best) == 1, best


@pytest.mark.parametrize('options', [
    dict(workers=0, validate=False),
    dict(workers=2, persistent=False, validate=True),
])
def test_weights_do_not_depend_on_workers_or_validation(options, reference,
                                                        tmp_path):
    """Augmentation is seeded by (seed, epoch, sample) by the sampler, and
    only the training steps draw from the training streams: loading in the
    main process, non-persistent workers and skipping validation all give
    the reference weights."""
    work = str(tmp_path / 'run')
    assert _in_child(work, **options) == 0
    state = torch.load(osp.join(work, 'final.pt'))
    for key, value in reference['state'].items():
        assert torch.equal(state[key], value), (options, key)
