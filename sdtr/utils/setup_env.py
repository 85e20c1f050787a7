"""Environment set-up helpers (registries, default scope)."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import the sdtr packages that fill the registries (datasets, engine,
    evaluation, models, visualization) so all components are registered.

    The tools, :func:`sdtr.apis.get_model` and the runner call it; ``import
    sdtr`` alone registers nothing (it stays light).  mmengine's checkpoint
    loading is routed through :mod:`sdtr.checkpoint` by the runner
    (:class:`sdtr.engine.runner.CheckpointRunner`) and ``get_model``.

    Args:
        init_default_scope (bool): also make ``'sdtr'`` the current default
            scope, as a config with ``default_scope='sdtr'`` would.
    """
    # through the registries' locations: utils sits below the packages it
    # fills them from (docs/architecture.md#layers)
    from sdtr.registry import (DATASETS, LOOPS, METRICS, MODELS,
                               VISUALIZERS)
    for registry in (DATASETS, LOOPS, METRICS, MODELS, VISUALIZERS):
        registry.import_from_location()

    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('sdtr'))
    if never_created:
        DefaultScope.get_instance('sdtr', scope_name='sdtr')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'sdtr':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "sdtr", '
                      '`register_all_modules` will force the current '
                      'default scope to be "sdtr".')
        new_instance_name = f'sdtr-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='sdtr')


def slurm_master_port() -> int:
    """A port derived from the slurm job id (10000-29999).

    Every task of a job derives the same port, and concurrent jobs sharing a
    node get different ones (mmengine's fixed default 29500 collides).
    """
    import os
    return 10000 + int(os.environ.get('SLURM_JOB_ID', '0')) % 20000


def _slurm_env_to_torch_env(port_default: int = 29500) -> None:
    """Translate SLURM variables into the ones torch.distributed reads."""
    import os
    import subprocess
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    node_list = os.environ['SLURM_NODELIST']
    addr = subprocess.getoutput(
        f'scontrol show hostname {node_list} | head -n1').strip()
    os.environ.setdefault('MASTER_PORT', str(port_default))
    os.environ.setdefault('MASTER_ADDR', addr or '127.0.0.1')
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ['RANK'] = str(proc_id)


def setup_distributed(cfg, launcher: str) -> None:
    """Prepare ``cfg`` for the chosen launcher.

    On machines with GPUs this only sets ``cfg.launcher`` and mmengine's own
    ``init_dist`` does the rest (nccl).  On CPU-only machines mmengine 0.10.7
    would call ``torch.cuda.set_device`` and pass ``device_ids`` to DDP, which
    both fail; there the gloo process group is created here (mmengine then
    skips its own initialisation) and DDP is built without ``device_ids``.

    Args:
        cfg (Config): the config, modified in place.
        launcher (str): ``'none'``, ``'pytorch'`` or ``'slurm'``.
    """
    import os

    import torch
    import torch.distributed as dist
    cfg.launcher = launcher
    if launcher == 'slurm' and 'MASTER_PORT' not in os.environ:
        os.environ['MASTER_PORT'] = str(slurm_master_port())
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher == 'slurm':
        _slurm_env_to_torch_env()
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def add_tensorboard_if_available(cfg) -> bool:
    """Add mmengine's TensorBoard backend to the visualizer when installed."""
    import importlib.util
    if importlib.util.find_spec('tensorboard') is None:
        return False
    vis = cfg.get('visualizer')
    if vis is None:
        return False
    backends = list(vis.get('vis_backends', []))
    if not any(b.get('type') == 'TensorboardVisBackend' for b in backends):
        backends.append(dict(type='TensorboardVisBackend'))
    vis['vis_backends'] = backends
    return True


def merge_cfg_options(cfg, options) -> None:
    """``cfg.merge_from_dict(options)`` with an error naming the option.

    mmengine reports an override below a ``None`` (or non-dict) entry, such
    as ``val_dataloader.batch_size=8`` on a config without validation, as a
    child/base config inheritance problem; this names the option instead.
    """
    if not options:
        return
    try:
        cfg.merge_from_dict(options)
    except TypeError as err:
        for key in options:
            parts = key.split('.')
            node = cfg
            for depth, part in enumerate(parts[:-1]):
                node = node.get(part) if isinstance(node, dict) else None
                if not isinstance(node, dict):
                    where = '.'.join(parts[:depth + 1])
                    raise TypeError(
                        f'--cfg-options {key}: the config sets {where} = '
                        f'{node!r}, so it has no field '
                        f'{parts[depth + 1]!r} to override (a config '
                        'without validation has val_dataloader = None).'
                    ) from err
        raise


def prepare_default_hooks(cfg) -> None:
    """Remove ``default_hooks`` entries set to ``None``.

    mmengine only accepts ``None`` for its own default hook names; sdtr's
    extra ones (``non_finite``, ``reproducibility``) are switched off the
    same way: ``--cfg-options default_hooks.non_finite=None``.
    """
    if cfg.get('default_hooks') is None:
        cfg['default_hooks'] = {}
    hooks = cfg['default_hooks']
    for name in [k for k, v in hooks.items() if v is None]:
        hooks.pop(name)
