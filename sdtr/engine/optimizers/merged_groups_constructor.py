"""Parameter-wise options with as few parameter groups as they need.

mmengine's ``DefaultOptimWrapperConstructor`` applies ``paramwise_cfg``
(``custom_keys``, ``bias_lr_mult``, ``bias_decay_mult``, ``norm_decay_mult``,
``flat_decay_mult``, ...) by giving *every parameter its own group*.  The
multi-tensor optimisers of PyTorch (``foreach`` and ``fused`` Adam/AdamW)
batch their work per group, so a ViT-B/16 CLIP (about 300 tensors) runs its
optimiser step as hundreds of small kernel launches instead of a few.

:class:`MergedGroupsOptimWrapperConstructor` applies exactly the same rules
(it *is* mmengine's constructor, through ``add_params``) and then merges the
groups whose *effective* hyper-parameters are equal (lr and weight decay
with the optimiser's defaults filled in, and any other option a custom key
sets) into one group, in the order of their first parameter, keeping the
parameters of a group in model order.  mmengine's bookkeeping keys
``lr_mult``/``decay_mult`` (copied into a group from a custom key, read by
nothing) are not options and do not split groups: a bias with
``decay_mult=0`` and a norm weight with ``norm_decay_mult=0`` at the same lr
share one group.  The
effective lr and weight decay of every parameter are unchanged; schedulers
scale each group from its own ``initial_lr``, so they behave as before.
When the config names neither ``foreach`` nor ``fused``, the optimiser gets
PyTorch's fused kernel on CUDA and the multi-tensor (``foreach``) kernel on
other devices where the optimiser class supports it; both compute the same
update as the per-tensor loop (see docs/training.md#speed).

It is the default of every sdtr schedule
(``optim_wrapper.constructor='MergedGroupsOptimWrapperConstructor'``).

Note: an optimiser state saved with per-parameter groups (checkpoints from
before this constructor) has a different number of groups; resuming such a
run needs ``optim_wrapper.constructor='DefaultOptimWrapperConstructor'``.
"""
import inspect
from typing import Dict, List

import torch
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from sdtr.registry import (OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                           OPTIMIZERS)

#: optimisers whose fused kernel is used on CUDA (others get ``foreach``)
FUSED_OPTIMIZERS = ('Adam', 'AdamW', 'SGD')


def _hashable(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


#: keys mmengine's ``add_params`` copies from custom keys for the record
BOOKKEEPING_KEYS = ('lr_mult', 'decay_mult')


def merge_param_groups(groups: List[dict],
                       names: Dict[int, str] = None,
                       defaults: dict = None) -> List[dict]:
    """Merge parameter groups with identical effective options.

    Args:
        groups (list[dict]): groups as built by ``add_params`` (one per
            parameter), each ``dict(params=[...], **options)``.
        names (dict, optional): ``id(param) -> name`` for error messages.
        defaults (dict, optional): the optimiser's defaults (``lr``,
            ``weight_decay``...): a group without an option has the
            default's value, so it merges with a group that sets it equal.

    Returns:
        list[dict]: one group per distinct set of options, in the order of
        their first parameter; parameters keep their order.

    Raises:
        ValueError: a parameter appears in two groups (a module shared by
            two parents without ``paramwise_cfg.bypass_duplicate=True``).
    """
    merged: Dict[tuple, dict] = {}
    seen = set()
    for group in groups:
        options = {k: v for k, v in group.items()
                   if k != 'params' and k not in BOOKKEEPING_KEYS}
        key = _hashable(dict(defaults or {}, **options))
        target = merged.get(key)
        if target is None:
            target = merged[key] = dict(options, params=[])
        for param in group['params']:
            if id(param) in seen:
                name = (names or {}).get(id(param), tuple(param.shape))
                raise ValueError(
                    f'parameter {name} is in more than one parameter group '
                    '(a module shared by two parents); set '
                    'optim_wrapper.paramwise_cfg.bypass_duplicate=True to '
                    'keep its first occurrence')
            seen.add(id(param))
            target['params'].append(param)
    return list(merged.values())


def multi_tensor_options(optimizer_cls, optimizer_cfg: dict,
                         params: List[torch.Tensor]) -> dict:
    """``fused=True`` (CUDA) or ``foreach=True`` for ``optimizer_cls`` when
    it supports them and ``optimizer_cfg`` chooses neither."""
    if 'fused' in optimizer_cfg or 'foreach' in optimizer_cfg:
        return {}
    try:
        accepted = inspect.signature(optimizer_cls).parameters
    except (TypeError, ValueError):
        return {}
    tensors = [p for p in params if isinstance(p, torch.Tensor)]
    if not tensors or any(p.device.type == 'meta' for p in tensors):
        return {}
    devices = {p.device.type for p in tensors}
    name = getattr(optimizer_cls, '__name__', '')
    if devices == {'cuda'} and 'fused' in accepted and \
            name in FUSED_OPTIMIZERS and \
            all(p.is_floating_point() for p in tensors):
        return dict(fused=True)
    if 'foreach' in accepted:
        return dict(foreach=True)
    return {}


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MergedGroupsOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's constructor with merged parameter groups and multi-tensor
    kernels.

    Same arguments as ``DefaultOptimWrapperConstructor``
    (``optim_wrapper_cfg``, ``paramwise_cfg``); see the module docstring.
    """

    def param_groups(self, model: nn.Module) -> List[dict]:
        """The parameter groups the optimiser gets (merged)."""
        if hasattr(model, 'module'):
            model = model.module
        if not self.paramwise_cfg:
            return [dict(params=list(model.parameters()))]
        groups: List[dict] = []
        self.add_params(groups, model)
        names = {id(p): n for n, p in model.named_parameters()}
        defaults = {k: v for k, v in self.optimizer_cfg.items()
                    if k in ('lr', 'weight_decay')}
        return merge_param_groups(groups, names, defaults)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        if hasattr(model, 'module'):
            model = model.module
        optim_wrapper_cfg = self.optim_wrapper_cfg.copy()
        optim_wrapper_cfg.setdefault('type', 'OptimWrapper')
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cls = optimizer_cfg['type']
        if isinstance(optimizer_cls, str):
            with OPTIMIZERS.switch_scope_and_registry(None) as registry:
                optimizer_cls = registry.get(optimizer_cfg['type'])
            if optimizer_cls is None:
                raise KeyError(f'optimizer {optimizer_cfg["type"]!r} is not '
                               'registered')
        first_arg = next(iter(inspect.signature(optimizer_cls).parameters))
        groups = self.param_groups(model)
        params = [p for g in groups for p in g['params']]
        optimizer_cfg.update(
            multi_tensor_options(optimizer_cls, optimizer_cfg, params))
        optimizer_cfg[first_arg] = groups
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        print_log(
            f'{type(self).__name__}: {len(params)} parameter tensors in '
            f'{len(groups)} group(s) ({optimizer_cls.__name__}'
            + ''.join(f', {k}=True' for k in ('fused', 'foreach')
                      if optimizer_cfg.get(k)) + ')',
            logger='current')
        return OPTIM_WRAPPERS.build(
            optim_wrapper_cfg, default_args=dict(optimizer=optimizer))
