"""Unit behaviour of NonFiniteCheckHook with a dynamic gradient scaler."""
import logging
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from sdtr.engine.hooks import NonFiniteCheckHook, NonFiniteLossError


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
