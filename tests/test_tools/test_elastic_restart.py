"""torchrun --max-restarts with 2 gloo processes on one machine: a worker
that dies (SIGKILL) or is stopped by SIGTERM in the middle of an epoch is
restarted with the other one, both resume the newest checkpoint of the
work_dir (tools/train.py, TORCHELASTIC_RESTART_COUNT > 0), and the run ends
with the weights of an uninterrupted one."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from sdtr.checkpoint import open_checkpoint
from .conftest import REPO, write_tiny_epoch_config

# the hook that interrupts rank 1 once, in the first attempt only
PLUGIN = '''
import os
import signal

from mmengine.hooks import Hook

from sdtr.registry import HOOKS


@HOOKS.register_module(force=True)
class InterruptRankOnce(Hook):
    priority = 'VERY_HIGH'

    def __init__(self, sig, epoch, batch, rank=1):
        self.sig, self.epoch, self.batch, self.rank = sig, epoch, batch, rank

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if os.environ.get('TORCHELASTIC_RESTART_COUNT', '0') == '0' and \\
                int(os.environ['RANK']) == self.rank and \\
                runner.epoch == self.epoch - 1 and batch_idx == self.batch:
            os.kill(os.getpid(), getattr(signal, self.sig))
'''

@pytest.fixture(scope='module')
def plugin_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('plugin')
    (folder / 'interrupt_plugin.py').write_text(PLUGIN)
    return folder


def _run(tmp_path, plugin_dir, name, interrupt=None):
    extra = "custom_imports = dict(imports=['interrupt_plugin'])\n"
    if interrupt is not None:
        extra += f'custom_hooks = [dict(type="InterruptRankOnce", ' \
            f'{interrupt})]'
    config = write_tiny_epoch_config(tmp_path / f'{name}.py', 2, extra)
    work = str(tmp_path / name)
    env = {k: v for k, v in os.environ.items()
           if k not in ('PORT', 'MASTER_PORT', 'TORCHELASTIC_RESTART_COUNT')}
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env['PATH']
    env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO), str(plugin_dir), env.get('PYTHONPATH', '')])
    env.setdefault('OMP_NUM_THREADS', '1')
    env['TORCHRUN_ARGS'] = '--max-restarts=1 --monitor-interval=0.5'
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work,
         '--no-validate'], cwd=str(REPO), env=env, capture_output=True,
        text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-8000:]
    state = open_checkpoint(osp.join(work, 'epoch_2.pth')).obj['state_dict']
    return state, log


@pytest.fixture(scope='module')
def reference(tmp_path_factory, plugin_dir):
    state, log = _run(tmp_path_factory.mktemp('ref'), plugin_dir, 'ref')
    assert 'this process is a restart' not in log
    return state


@pytest.mark.parametrize('sig,resumed', [
    # killed: the last checkpoint is epoch_1, the rest of epoch 2 replays
    ('SIGKILL', 'epoch_1.pth'),
    # stopped: both ranks agree, iter_7.pth is written, epoch 2 continues
    # at its third batch
    ('SIGTERM', 'iter_7.pth'),
])
def test_restarted_workers_resume_the_newest_checkpoint(
        sig, resumed, reference, plugin_dir, tmp_path):
    state, log = _run(tmp_path, plugin_dir, 'run',
                      f'sig={sig!r}, epoch=2, batch=1')
    work = tmp_path / 'run'
    assert 'TORCHELASTIC_RESTART_COUNT=1: this process is a restart' in log
    assert f'resume: continuing from {work / resumed}' in log
    if sig == 'SIGTERM':
        assert 'SIGTERM received: saving a checkpoint after iteration 7 ' \
            'and stopping (exit code 143)' in log
        assert 'resumed epoch: 1, iter: 7' in log
    assert state.keys() == reference.keys()
    for key, value in reference.items():
        assert torch.equal(state[key], value), key
