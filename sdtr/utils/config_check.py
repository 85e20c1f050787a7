"""Refuse config values that look like settings but change nothing.

mmengine evaluates a config file once: ``max_epochs = 10`` in a schedule
base is copied into ``train_cfg`` while the file is parsed, so changing the
variable afterwards (``--cfg-options max_epochs=50`` or ``max_epochs = 50``
in a child config) changes only the variable.  The runner reads a fixed set
of top-level keys (:data:`RUNNER_KEYS`); everything else in a merged config
is dead unless it is a *building block*: a component definition (a dict with
``type`` or a list of them, e.g. ``train_pipeline``) that the settings use
verbatim, the OpenMMLab way of sharing a pipeline between the loaders (a base
file without any setting, such as ``configs/_base_/datasets/pipelines/*``,
is a library of such blocks).

:func:`check_config` raises for every other top-level key (so a child config
that sets ``max_epochs = 50``, or redefines ``train_pipeline`` without
putting it into its loaders, fails loudly), and :func:`check_cfg_options`
refuses command-line overrides of keys the runner does not read.  Used by
``tools/train.py``, ``tools/test.py`` and ``tools/misc/print_config.py``;
docs/reproduction.md ("Changing epochs, lr, batch, data") lists the keys
that act.
"""
import inspect
from typing import Any, Dict, Iterable, Optional

from mmengine.runner import Runner

from .errors import SdtrError

#: Top-level keys that mmengine's Runner (``Runner.from_cfg``), sdtr's tools
#: and mmengine's config loader read.
RUNNER_KEYS = frozenset(
    set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    | {'runner_type', 'model_wrapper_cfg', 'find_unused_parameters',
       'compile', 'custom_imports', 'work_dir', 'launcher', 'strategy',
       # read by sdtr's runner (how load_from checkpoints load)
       'load_cfg'})

#: Where the value of a well-known dead variable acts.
HINTS = {
    'max_epochs': 'train_cfg.max_epochs (the schedule follows it)',
    'max_iters': 'train_cfg.max_epochs',
    'val_interval': 'train_cfg.val_interval',
    'lr': 'optim_wrapper.optimizer.lr',
    'base_lr': 'optim_wrapper.optimizer.lr',
    'weight_decay': 'optim_wrapper.optimizer.weight_decay',
    'warmup_iters': 'param_scheduler.warmup_iters',
    'warmup_epochs': 'param_scheduler.warmup_epochs',
    'warmup_ratio': 'param_scheduler.warmup_ratio',
    'batch_size': 'train_dataloader.batch_size (per GPU)',
    'num_workers': 'train_dataloader.num_workers',
    'seed': 'randomness.seed',
    'data_root': ('train_dataloader.dataset.data_root, '
                  'val_dataloader.dataset.data_root and '
                  'test_dataloader.dataset.data_root'),
    'img_size': ('the resize/crop scale of train_dataloader.dataset.'
                 'pipeline / test_dataloader.dataset.pipeline and '
                 'model.image_encoder.image_size'),
}


class ConfigError(SdtrError, ValueError):
    """A config key that would silently do nothing."""


def is_component(value: Any) -> bool:
    """A dict with ``type``, or a non-empty list/tuple of such dicts."""
    if isinstance(value, dict):
        return 'type' in value
    if isinstance(value, (list, tuple)) and value:
        return all(isinstance(v, dict) and 'type' in v for v in value)
    return False


def _contains(haystack: Any, needle: Any) -> bool:
    if haystack == needle:
        return True
    if isinstance(haystack, dict):
        return any(_contains(v, needle) for v in haystack.values())
    if isinstance(haystack, (list, tuple)):
        return any(_contains(v, needle) for v in haystack)
    return False


def dead_keys(cfg) -> Dict[str, str]:
    """Top-level keys of ``cfg`` that nothing reads: ``{key: reason}``."""
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    settings = [cfg[k] for k in cfg if k in RUNNER_KEYS]
    dead = {}
    for key in cfg:
        if key in RUNNER_KEYS:
            continue
        value = cfg[key]
        if is_component(value):
            # a file without settings is a library of building blocks
            # (configs/_base_/datasets/pipelines/): checked where used
            if not settings or any(_contains(s, value) for s in settings):
                continue
            dead[key] = ('a building block that none of the settings uses '
                         '(put it into the loader / model that should use '
                         'it)')
        else:
            hint = HINTS.get(key)
            dead[key] = ('not read by the runner' +
                         (f'; set {hint}' if hint else ''))
    return dead


def batch_size_mismatches(cfg) -> Dict[str, str]:
    """Loaders whose sampler composes whole batches of another size.

    A sampler that builds its batches itself (it takes ``batch_size``, e.g.
    :class:`~sdtr.datasets.IdentityBalancedSampler`'s P identities x K
    instances) yields indices in groups of *its* ``batch_size``; the
    ``DataLoader`` cuts that stream by the loader's ``batch_size``.  When
    the two differ, every batch silently mixes the end of one composed batch
    with the start of the next (``--cfg-options train_dataloader.batch_size=
    64`` on a 25 x 4 config).  Returns ``{loader: reason}``.
    """
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    bad = {}
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if not isinstance(loader, dict):
            continue
        sampler = loader.get('sampler')
        if not isinstance(sampler, dict) or 'batch_size' not in sampler:
            continue
        if sampler['batch_size'] != loader.get('batch_size'):
            bad[name] = (
                f'{name}.sampler ({sampler.get("type")}) composes batches of '
                f'{sampler["batch_size"]} but {name}.batch_size is '
                f'{loader.get("batch_size")}; set both to the same per-GPU '
                'batch size')
    return bad


def check_config(cfg, source: Optional[str] = None) -> None:
    """Raise :class:`ConfigError` listing every top-level key of ``cfg``
    that changes nothing (see the module docstring), and every loader whose
    sampler composes batches of another size (:func:`batch_size_mismatches`).
    """
    where = f' in {source}' if source else ''
    mismatched = batch_size_mismatches(cfg)
    if mismatched:
        raise ConfigError(f'config{where}: batch sizes disagree:\n' +
                          '\n'.join(f'  {v}' for v in mismatched.values()))
    dead = dead_keys(cfg)
    if dead:
        lines = '\n'.join(f'  {k}: {why}' for k, why in dead.items())
        raise ConfigError(
            f'config{where} has top-level keys that change nothing (mmengine '
            f'copies variables into the settings when the file is parsed):\n'
            f'{lines}\nRemove them, prefix file-local helpers with "__" '
            f'(mmengine drops those), or set the runner setting named. See '
            f'docs/reproduction.md.')


def check_cfg_options(options: Optional[Iterable[str]], cfg=None) -> None:
    """Refuse ``--cfg-options`` keys whose first part the runner does not
    read (their value was copied into the settings at parse time)."""
    bad = []
    for key in options or ():
        top = str(key).split('.', 1)[0]
        if top in RUNNER_KEYS:
            continue
        hint = HINTS.get(top)
        exists = cfg is not None and top in cfg
        bad.append(f'  {key}: `{top}` is '
                   + ('a variable the config file used while it was parsed'
                      if exists else 'not a setting')
                   + (f'; set {hint}' if hint else
                      '; set the dataloader / model field that uses it'))
    if bad:
        raise ConfigError('--cfg-options would change nothing:\n' +
                          '\n'.join(bad) +
                          '\nSee docs/reproduction.md ("Changing epochs, lr, '
                          'batch, data").')


def load_config(path: str, cfg_options: Optional[dict] = None):
    """``Config.fromfile(path)`` plus ``--cfg-options``, refusing keys that
    would change nothing (:func:`check_cfg_options`, :func:`check_config`).
    """
    from mmengine.config import Config
    from .renamed_configs import resolve_config_path
    from .setup_env import merge_cfg_options
    path = resolve_config_path(path)  # config files renamed since
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg_options, cfg)
        merge_cfg_options(cfg, cfg_options)
    check_config(cfg, path)
    return cfg
