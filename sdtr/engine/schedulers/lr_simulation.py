"""Simulate a config's learning rate over a whole run, on CPU, without data.

The optimiser wrapper and the parameter schedulers are built from the config
exactly as :class:`mmengine.runner.Runner` builds them (mmengine's
``build_optim_wrapper`` and the runner's own ``_build_param_scheduler``, so
``end`` defaults to ``train_cfg.max_epochs`` and ``convert_to_iter_based``
uses the iterations per epoch), then stepped like mmengine's
``ParamSchedulerHook`` (iteration-based schedulers after every iteration,
epoch-based ones after every epoch).  Used by
``tools/analysis_tools/lr_schedule.py`` and by the recipe test against
``docs/reproduction.md``.
"""
import copy
import inspect
import logging
from types import SimpleNamespace
from typing import Dict, Iterable, Optional

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper, build_optim_wrapper
from mmengine.runner import BaseLoop, Runner


class _Loop(BaseLoop):
    """A train loop that only carries ``max_epochs`` / ``max_iters``."""

    def __init__(self, runner, dataloader, max_epochs: int):
        super().__init__(runner, dataloader)
        self.max_epochs = max_epochs
        self.max_iters = max_epochs * len(dataloader)

    def run(self):  # pragma: no cover - never run
        raise RuntimeError('simulation only')


def _reduced_optimizer(optim_wrapper, names: Dict[int, str],
                       probes: Iterable[str]):
    """One parameter per probed parameter name (same lr / weight decay as
    in the real optimiser), so the schedulers step a handful of groups
    instead of hundreds."""
    found = {}
    for group in optim_wrapper.param_groups:
        for p in group['params']:
            name = names.get(id(p))
            if name is not None and name in probes:
                found[name] = {k: v for k, v in group.items()
                               if k != 'params'}
    missing = [n for n in probes if n not in found]
    if missing:
        raise KeyError(f'no trainable parameter named {missing} in the '
                       f'model (or it is not in the optimiser)')
    groups = [dict(found[n], params=[torch.nn.Parameter(torch.zeros(1))])
              for n in probes]
    opt_cls = type(optim_wrapper.optimizer)
    accepted = inspect.signature(opt_cls).parameters
    defaults = {k: v for k, v in optim_wrapper.optimizer.defaults.items()
                if k in accepted and k not in ('differentiable', 'foreach',
                                               'fused', 'capturable')}
    return OptimWrapper(opt_cls(groups, **defaults))


def simulate_lr(cfg,
                model: torch.nn.Module,
                iters_per_epoch: int,
                probes: Optional[Iterable[str]] = None,
                max_epochs: Optional[int] = None) -> Dict[str, np.ndarray]:
    """Learning rate of each probed parameter at every training iteration.

    Args:
        cfg (Config): the training config (``optim_wrapper``,
            ``param_scheduler``, ``train_cfg``).
        model (nn.Module): the model (the real one, e.g. built on the meta
            device, or a stand-in with the same parameter names).
        iters_per_epoch (int): ``len(train_dataloader)`` of the run.
        probes (list[str], optional): parameter names whose lr is returned;
            defaults to the first trainable parameter.
        max_epochs (int, optional): defaults to ``train_cfg.max_epochs``.

    Returns:
        dict: ``{name: array of shape (max_epochs * iters_per_epoch,)}``,
        the lr used by the optimiser step of each iteration.
    """
    max_epochs = int(max_epochs or cfg.train_cfg.max_epochs)
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    # AMP only changes how gradients are scaled, not the schedule, and
    # mmengine's AmpOptimWrapper refuses to build without a GPU.
    if optim_cfg.get('type') == 'AmpOptimWrapper':
        optim_cfg['type'] = 'OptimWrapper'
        for key in ('dtype', 'loss_scale', 'use_fsdp'):
            optim_cfg.pop(key, None)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # one log line per parameter group
    try:
        optim_wrapper = build_optim_wrapper(model, optim_cfg)
    finally:
        logger.setLevel(level)
    names = {id(p): n for n, p in model.named_parameters()}
    if probes is None:
        probes = [next(n for n, p in model.named_parameters()
                       if p.requires_grad)]
    probes = list(probes)
    reduced = _reduced_optimizer(optim_wrapper, names, probes)

    runner = SimpleNamespace(logger=logger,
                             train_dataloader=range(iters_per_epoch))
    loop = _Loop(runner, runner.train_dataloader, max_epochs)
    runner._train_loop = loop
    runner.max_epochs = loop.max_epochs
    runner.max_iters = loop.max_iters
    schedulers = Runner._build_param_scheduler(
        runner, copy.deepcopy(cfg.param_scheduler), reduced)
    reduced._global_step = 0  # no "scheduler before optimizer" warning

    lrs = np.zeros((len(probes), max_epochs * iters_per_epoch))
    step = 0
    for _ in range(max_epochs):
        for _ in range(iters_per_epoch):
            for j, group in enumerate(reduced.optimizer.param_groups):
                lrs[j, step] = group['lr']
            step += 1
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
        for s in schedulers:
            if s.by_epoch:
                s.step()
    return {name: lrs[j] for j, name in enumerate(probes)}
