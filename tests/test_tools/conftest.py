"""Helpers to run the tools as a user would: as subprocesses."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def write_tiny_config(path, base, max_iters=6, extra=''):
    """A config inheriting ``base`` that trains ``max_iters`` iterations on a
    few images, validates once and runs in the main process."""
    path = Path(path)
    path.write_text(f'''
_base_ = [{str(REPO / base)!r}]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters={max_iters}, val_interval={max_iters})
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={max_iters}, by_epoch=False, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(indices=24))
val_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                      dataset=dict(indices=21))
test_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                       dataset=dict(indices=21))
{extra}
''')
    return str(path)


def write_tiny_epoch_config(path, max_epochs, extra=''):
    """An epoch-based config inheriting the quickstart: ``max_epochs``
    epochs of 5 batches per process with 2 processes (8 images x 5
    captions, batch 4), checkpoints every epoch, main-process loading."""
    path = Path(path)
    path.write_text(f'''
_base_ = [{str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py')!r}]
train_cfg = dict(max_epochs={max_epochs}, val_interval={max_epochs})
param_scheduler = []
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_dataloader = dict(batch_size=4, num_workers=0,
                        persistent_workers=False, dataset=dict(indices=8))
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts=3))
{extra}
''')
    return str(path)


def run_tool(args, env_extra=None, timeout=600):
    env = dict(os.environ)
    env_extra = dict(env_extra or {})
    paths = [str(REPO)] + [
        p for p in (env_extra.pop('PYTHONPATH', None),
                    env.get('PYTHONPATH')) if p
    ]
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env.setdefault('OMP_NUM_THREADS', '1')
    env.update(env_extra)
    proc = subprocess.run([sys.executable] + list(args), cwd=str(REPO),
                          env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(
            f'{args} exited with {proc.returncode}\nSTDOUT:\n'
            f'{proc.stdout[-4000:]}\nSTDERR:\n{proc.stderr[-6000:]}')
    return proc


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def tiny_rs_config(tmp_path):
    return write_tiny_config(
        tmp_path / 'tiny_rs.py',
        'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py')


@pytest.fixture
def tiny_person_config(tmp_path):
    return write_tiny_config(
        tmp_path / 'tiny_person.py',
        'configs/quickstart/clip_tiny_1xb32_synthetic-person.py',
        extra="train_dataloader = dict(sampler=dict(_delete_=True, "
        "type='DefaultSampler', shuffle=True))")
