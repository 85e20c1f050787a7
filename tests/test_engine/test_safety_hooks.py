"""Unit behaviour of StrictLoadHook (coverage report, resume always strict)
and of NonFiniteCheckHook with a dynamic gradient scaler."""
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.model import BaseModel
from mmengine.runner import Runner

from sdtr.engine.hooks import (NonFiniteCheckHook, NonFiniteLossError,
                               StrictLoadHook)
from sdtr.models.utils import CheckpointMismatchError
from sdtr.utils import register_all_modules

# the restricted checkpoint loader (resume / load_from of the Runner)
register_all_modules(init_default_scope=False)


class TwoLayers(BaseModel):

    def __init__(self, width=4):
        super().__init__()
        self.a = torch.nn.Linear(4, width)
        self.b = torch.nn.Linear(width, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.b(self.a(inputs))


def _runner(tmp_path, load_cfg=None, resume=False):
    return Runner(model=TwoLayers(), work_dir=str(tmp_path / 'w'),
                  default_hooks=dict(strict=dict(type=StrictLoadHook)),
                  cfg=dict(load_cfg=load_cfg) if load_cfg else None,
                  resume=resume, default_scope='sdtr',
                  experiment_name=f'strict-{id(tmp_path)}-{resume}')


def test_partial_load_reports_coverage(tmp_path):
    other = TwoLayers(width=3)  # a.* and b.weight differ in shape
    sd = dict(other.state_dict(), extra=torch.zeros(1))
    sd['a.bias'] = torch.full((4, ), 7.0)  # the one tensor that fits
    path = str(tmp_path / 'c.pth')
    torch.save(dict(state_dict=sd), path)

    runner = _runner(tmp_path)
    with pytest.raises(CheckpointMismatchError) as err:
        runner.load_checkpoint(path)
    msg = str(err.value)
    assert 'unexpected keys (1): extra' in msg
    assert 'a.weight: checkpoint (3, 4) vs model (4, 4)' in msg
    assert 'b.weight: checkpoint (1, 3) vs model (1, 4)' in msg

    runner = _runner(tmp_path / 'p', load_cfg=dict(strict=False))
    before = runner.model.a.weight.clone()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    runner.logger.addHandler(handler)
    runner.load_checkpoint(path)
    text = '\n'.join(r.getMessage() for r in records)
    # 2 of 4 model tensors: a.bias (loaded) and b.bias (same shape (1,))
    assert 'loaded 2/4 model tensors (50.0%)' in text
    assert 'kept as initialised: a.weight, b.weight' in text
    assert torch.equal(runner.model.a.bias, torch.full((4, ), 7.0))
    assert torch.equal(runner.model.a.weight, before)


def test_resume_is_strict_even_with_partial_load(tmp_path):
    path = str(tmp_path / 'c.pth')
    torch.save(dict(state_dict=TwoLayers(width=3).state_dict()), path)
    runner = _runner(tmp_path, load_cfg=dict(strict=False), resume=True)
    with pytest.raises(CheckpointMismatchError, match='resume checkpoint'):
        runner.load_checkpoint(path)


def test_unknown_load_cfg_key_is_an_error(tmp_path):
    path = str(tmp_path / 'c.pth')
    torch.save(dict(state_dict=TwoLayers().state_dict()), path)
    runner = _runner(tmp_path, load_cfg=dict(strct=False))
    with pytest.raises(KeyError, match='strct'):
        runner.load_checkpoint(path)


class FakeScaler:

    def __init__(self):
        self.scale = 1024.0

    def get_scale(self):
        return self.scale

    def is_enabled(self):
        return True


def test_scaler_overflows_are_counted_and_stop_the_run():
    wrapper = SimpleNamespace(loss_scaler=FakeScaler(),
                              get_lr=lambda: dict(lr=[0.1]))
    runner = SimpleNamespace(
        optim_wrapper=wrapper, iter=0, epoch=0,
        logger=logging.getLogger('fake'),
        train_loop=SimpleNamespace(max_iters=100, dataloader=[]),
        message_hub=MessageHub.get_instance('nonfinite-test'))
    hook = NonFiniteCheckHook(max_consecutive_skips=3, check_grads=False)
    finite = dict(loss=torch.tensor(1.0))
    hook.after_train_iter(runner, 0, outputs=finite)  # first scale seen
    for i in (1, 2):  # the scaler halves its scale: skipped steps
        wrapper.loss_scaler.scale /= 2
        runner.iter = i
        hook.after_train_iter(runner, i, outputs=finite)
    assert hook.consecutive_skips == 2 and hook.total_skips == 2
    runner.iter = 3
    hook.after_train_iter(runner, 3, outputs=finite)  # recovered
    assert hook.consecutive_skips == 0
    for i in (4, 5):
        wrapper.loss_scaler.scale /= 2
        runner.iter = i
        hook.after_train_iter(runner, i, outputs=finite)
    wrapper.loss_scaler.scale /= 2
    runner.iter = 6
    with pytest.raises(NonFiniteLossError,
                       match=r'iteration 7 of 100.*3 consecutive'):
        hook.after_train_iter(runner, 6, outputs=finite)
