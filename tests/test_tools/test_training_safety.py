"""A diverging run stops at the first non-finite loss/gradient with the
iteration, epoch, lr and loss terms, and never saves a NaN checkpoint; also
without validation (--no-validate, or a config without val like ICFG-PEDES).
tools/train.py is called in-process."""
import glob
import os.path as osp

import pytest
import torch

from sdtr.engine.hooks import NonFiniteLossError
from sdtr.checkpoint import load_checkpoint
from test_apis.helpers import load_tool
from .conftest import write_tiny_config

train_tool = load_tool('tools/train.py')
TINY = 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'
# as the ICFG-PEDES configs: no val split
NO_VAL = '''
val_cfg = None
val_dataloader = None
val_evaluator = None
'''


@pytest.mark.parametrize('variant', ['with_val', 'no_validate', 'no_val'])
def test_huge_lr_stops_before_a_nan_checkpoint(variant, tmp_path):
    cfg = write_tiny_config(tmp_path / 'tiny.py', TINY,
                            extra=NO_VAL if variant == 'no_val' else '')
    work = str(tmp_path / 'work')
    argv = [cfg, '--work-dir', work, '--cfg-options',
            'optim_wrapper.optimizer.lr=1e6',
            'default_hooks.checkpoint.interval=1']
    if variant == 'no_validate':
        argv.insert(1, '--no-validate')
    if variant == 'no_val':
        argv.append('default_hooks.checkpoint.save_best=None')
    with pytest.raises(NonFiniteLossError) as err:
        train_tool.main(argv)
    msg = str(err.value)
    assert msg.startswith('Training diverged at iteration ')
    bad_iter = int(msg.split('iteration ')[1].split()[0])
    assert 1 <= bad_iter <= 6
    assert 'learning rate: base_lr=1e+06, lr=1e+06 (' in msg
    assert 'losses: loss=' in msg and 'loss_itc=' in msg
    assert 'no checkpoint of it was written' in msg
    # every checkpoint on disk is finite, and none is of the bad iteration
    saved = sorted(glob.glob(osp.join(work, 'iter_*.pth')))
    assert not osp.exists(osp.join(work, f'iter_{bad_iter}.pth'))
    assert len(saved) == bad_iter - 1
    for path in saved:
        for key, value in load_checkpoint(path)['state_dict'].items():
            assert torch.isfinite(value).all(), (path, key)
    # the log says so too
    logs = glob.glob(osp.join(work, '*', '*.log'))
    assert any('Training diverged' in open(p).read() for p in logs)


def test_skip_mode_skips_then_stops(tmp_path):
    """mode='skip': non-finite steps are skipped (weights stay finite) and
    counted; max_consecutive_skips in a row stop the run."""
    cfg = write_tiny_config(tmp_path / 'tiny.py', TINY, max_iters=8)
    work = str(tmp_path / 'work')
    with pytest.raises(NonFiniteLossError, match='3 consecutive skipped'):
        train_tool.main([
            cfg, '--work-dir', work, '--cfg-options',
            'optim_wrapper.optimizer.lr=1e6',
            'default_hooks.non_finite.mode=skip',
            'default_hooks.non_finite.max_consecutive_skips=3',
            'default_hooks.checkpoint.interval=1'
        ])
    for path in glob.glob(osp.join(work, 'iter_*.pth')):
        for value in load_checkpoint(path)['state_dict'].values():
            assert torch.isfinite(value).all(), path
    logs = glob.glob(osp.join(work, '*', '*.log'))
    assert any('skipped the optimizer step' in open(p).read()
               for p in logs)
