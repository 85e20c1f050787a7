"""Simulate a config's learning rate over a whole run, on CPU, without data.

The parameter groups and the parameter schedulers are built from the config
as :class:`mmengine.runner.Runner` builds them (the optimiser-wrapper
constructor of mmengine's ``build_optim_wrapper`` and the runner's own
``_build_param_scheduler``, so
``end`` defaults to ``train_cfg.max_epochs`` and ``convert_to_iter_based``
uses the iterations per epoch), then stepped like mmengine's
``ParamSchedulerHook`` (iteration-based schedulers after every iteration,
epoch-based ones after every epoch).  Used by
``tools/analysis_tools/lr_schedule.py`` and by the recipe test against
``docs/reproduction.md``.
"""
import contextlib
import copy
import logging
from types import SimpleNamespace
from unittest import mock
from typing import Dict, Iterable, Optional

import numpy as np
import torch
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS
from mmengine.runner import BaseLoop, Runner


def build_model_without_weights(model_cfg) -> torch.nn.Module:
    """Build a model only for its parameter names and shapes, fast.

    Every in-place random or constant initialisation is skipped, and the
    model is built on the meta device (no memory) when its ``__init__``
    allows; code that reads tensor values while building (mmpretrain's Swin
    computes its drop path rates with ``.item()``) is built on the CPU, with
    uninitialised weights.  Pretrained weights are only loaded by ``init_weights()``, which
    is not called.
    """
    from sdtr.registry import MODELS
    with contextlib.ExitStack() as stack:
        for name in ('normal_', 'uniform_', 'zero_', 'fill_'):
            stack.enter_context(mock.patch.object(
                torch.Tensor, name, lambda self, *args, **kwargs: self))
        try:
            with torch.device('meta'):
                return MODELS.build(model_cfg)
        except RuntimeError:
            return MODELS.build(model_cfg)


class _Loop(BaseLoop):
    """A train loop that only carries ``max_epochs`` / ``max_iters``."""

    def __init__(self, runner, dataloader, max_epochs: int):
        super().__init__(runner, dataloader)
        self.max_epochs = max_epochs
        self.max_iters = max_epochs * len(dataloader)

    def run(self):  # pragma: no cover - never run
        raise RuntimeError('simulation only')


def _probe_optimizer(optim_cfg, model: torch.nn.Module,
                     probes: Iterable[str]) -> OptimWrapper:
    """An optimiser wrapper with one parameter per probed name, whose group
    has the lr / weight decay the config gives that parameter of ``model``.

    The groups come from the optimiser-wrapper constructor mmengine's
    ``build_optim_wrapper`` uses (``paramwise_cfg`` rules on the real
    parameter names and module types; the merged groups of
    ``MergedGroupsOptimWrapperConstructor``, as training gets them); the
    schedulers then step a handful of groups instead of hundreds.
    """
    optim_cfg = copy.deepcopy(optim_cfg)
    ctor_type = optim_cfg.pop('constructor', 'DefaultOptimWrapperConstructor')
    paramwise_cfg = optim_cfg.pop('paramwise_cfg', None)
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=ctor_type, optim_wrapper_cfg=optim_cfg,
             paramwise_cfg=paramwise_cfg))
    names = {id(p): n for n, p in model.named_parameters()}
    if hasattr(ctor, 'param_groups'):  # MergedGroupsOptimWrapperConstructor
        groups = ctor.param_groups(model)
    elif isinstance(ctor, DefaultOptimWrapperConstructor):
        groups = []
        if paramwise_cfg:
            ctor.add_params(groups, model)
        else:
            groups = [dict(params=[p]) for p in model.parameters()
                      if p.requires_grad]
    else:  # a custom constructor: build the real optimiser
        groups = ctor(model).optimizer.param_groups
    found = {}
    for group in groups:
        for p in group['params']:
            name = names.get(id(p))
            if name in probes:
                found[name] = {k: v for k, v in group.items()
                               if k != 'params'}
    missing = [n for n in probes if n not in found]
    if missing:
        raise KeyError(f'no trainable parameter named {missing} in the '
                       f'model (or it is not in the optimiser)')
    optimizer_cfg = dict(optim_cfg['optimizer'])
    optimizer_cfg['params'] = [
        dict(found[n], params=[torch.nn.Parameter(torch.zeros(1))])
        for n in probes]
    return OptimWrapper(OPTIMIZERS.build(optimizer_cfg))


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
    if probes is None:
        probes = [next(n for n, p in model.named_parameters()
                       if p.requires_grad)]
    probes = list(probes)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # one log line per parameter group
    try:
        reduced = _probe_optimizer(optim_cfg, model, probes)
    finally:
        logger.setLevel(level)

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
