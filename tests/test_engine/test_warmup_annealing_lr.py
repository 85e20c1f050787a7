"""WarmupAnnealingLR: hand-computed values of the schedules of the papers
(docs/reproduction.md), the run length taken from the runner, the warm-up
cap and the errors."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from sdtr.engine.schedulers import WarmupAnnealingLR, simulate_lr
from sdtr.registry import PARAM_SCHEDULERS
from sdtr.utils import register_all_modules

register_all_modules()


def optimizer(*lrs):
    groups = [dict(params=[torch.nn.Parameter(torch.zeros(1))], lr=lr)
              for lr in lrs]
    return OptimWrapper(torch.optim.Adam(groups, lr=lrs[0]))


def run(sched, optim, steps):
    optim._global_step = 0  # as after an optimiser step (no warning)
    out = []
    for _ in range(steps):
        out.append([g['lr'] for g in optim.optimizer.param_groups])
        sched.step()
    return out


def test_irra_per_epoch_warmup_then_cosine():
    """IRRA solver/lr_scheduler.py, mode 'cosine': epoch e < 5 gets
    0.1 (1 - e/5) + e/5, then 0.5 (1 + cos(pi (e - 5) / 55)); a 5x group
    (lr_mult) follows the same curve."""
    optim = optimizer(1e-5, 5e-5)
    sched = WarmupAnnealingLR(optim, warmup_epochs=5, warmup_start_factor=0.1,
                              end=60, by_epoch=True)
    lrs = run(sched, optim, 60)
    for e, f in enumerate([0.1, 0.28, 0.46, 0.64, 0.82, 1.0]):
        assert lrs[e][0] == pytest.approx(1e-5 * f, rel=1e-12)
        assert lrs[e][1] == pytest.approx(5e-5 * f, rel=1e-12)
    last = 0.5 * (1 + math.cos(math.pi * 54 / 55))
    assert lrs[59][0] == pytest.approx(1e-5 * last, rel=1e-9)
    assert max(v[0] for v in lrs) == pytest.approx(1e-5, rel=1e-12)


def test_warmup_epochs_converted_to_iterations():
    optim = optimizer(1.0)
    sched = PARAM_SCHEDULERS.build(
        dict(type='WarmupAnnealingLR', warmup_epochs=2, anneal='linear',
             by_epoch=True, convert_to_iter_based=True, end=10),
        default_args=dict(optimizer=optim, epoch_length=10))
    assert (sched.warmup_steps, sched.total_steps) == (20, 100)
    lrs = [v[0] for v in run(sched, optim, 100)]
    assert lrs[0] == 0 and lrs[10] == pytest.approx(0.5)
    assert lrs[20] == 1.0 and lrs[60] == pytest.approx(0.5)
    assert lrs[99] == pytest.approx(1 / 80)


def test_eklsr_warmup_capped_on_a_short_run():
    """2,000 warm-up iterations on a 1,340-iteration run: capped at 60 %
    (804), then the cosine reaches 0 at the end of the run."""
    optim = optimizer(1e-5)
    sched = WarmupAnnealingLR(optim, warmup_iters=2000, max_warmup_ratio=0.6,
                              warmup_start_factor=0.1, end=1340,
                              by_epoch=False)
    assert sched.requested_warmup == 2000 and sched.warmup_steps == 804
    lrs = [v[0] for v in run(sched, optim, 1340)]
    assert lrs[0] == pytest.approx(1e-6)
    assert lrs[402] == pytest.approx(1e-5 * (0.1 + 0.9 * 0.5))
    assert max(lrs) == lrs[804] == pytest.approx(1e-5)
    half = 804 + (1340 - 804) // 2
    assert lrs[half] == pytest.approx(5e-6)
    assert lrs[1339] == pytest.approx(
        1e-5 * (1 + math.cos(math.pi * 535 / 536)) / 2)
    # the paper's 2,000 iterations fit into a 3,830-iteration RSICD run
    sched = WarmupAnnealingLR(optimizer(1e-5), warmup_iters=2000,
                              max_warmup_ratio=0.6, end=3830,
                              by_epoch=False)
    assert sched.warmup_steps == 2000


def test_warmup_ratio_and_eta_min():
    optim = optimizer(1e-3)
    sched = WarmupAnnealingLR(optim, warmup_ratio=0.1, eta_min=1e-5,
                              end=200, by_epoch=False)
    lrs = [v[0] for v in run(sched, optim, 200)]
    assert sched.warmup_steps == 20 and lrs[20] == 1e-3
    assert lrs[110] == pytest.approx(1e-5 + (1e-3 - 1e-5) / 2)
    assert min(lrs[20:]) > 1e-5


def test_end_follows_train_cfg_max_epochs():
    """No `end` in the config: the runner's default end is
    train_cfg.max_epochs, so doubling the epochs stretches the cosine."""
    cfg = Config(dict(
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=dict(type='WarmupAnnealingLR', warmup_iters=10,
                             by_epoch=True, convert_to_iter_based=True),
        train_cfg=dict(by_epoch=True, max_epochs=5)))
    model = torch.nn.Linear(2, 2)
    short = simulate_lr(cfg, model, iters_per_epoch=20)['weight']
    cfg.merge_from_dict({'train_cfg.max_epochs': 10})
    long = simulate_lr(cfg, model, iters_per_epoch=20)['weight']
    assert len(short) == 100 and len(long) == 200
    assert short[10] == long[10] == pytest.approx(0.1)
    assert short[55] == pytest.approx(0.05)  # half-way through the cosine
    assert long[105] == pytest.approx(0.05)
    assert short[-1] < 1e-4 and long[-1] < 1e-4


def test_resume_from_state_dict():
    optim = optimizer(1.0)
    sched = WarmupAnnealingLR(optim, warmup_iters=10, end=50,
                              by_epoch=False)
    run(sched, optim, 25)
    state = sched.state_dict()
    expected = run(sched, optim, 25)
    optim2 = optimizer(1.0)
    sched2 = WarmupAnnealingLR(optim2, warmup_iters=10, end=50,
                               by_epoch=False)
    sched2.load_state_dict(state)
    sched2.step()
    got = run(sched2, optim2, 24)
    assert [v[0] for v in got] == pytest.approx([v[0] for v in expected[1:]])


@pytest.mark.parametrize('kwargs,match', [
    (dict(warmup_iters=10, warmup_ratio=0.1, end=100), 'one warm-up'),
    (dict(warmup_iters=10, end=100, by_epoch=True), 'iteration-based'),
    (dict(warmup_iters=10), 'length of the run'),
    (dict(anneal='step', end=100), "anneal must be"),
    (dict(warmup_ratio=1.5, end=100), 'warmup_ratio'),
])
def test_errors(kwargs, match):
    kwargs.setdefault('by_epoch', False)
    with pytest.raises(ValueError, match=match):
        WarmupAnnealingLR(optimizer(1.0), **kwargs)
