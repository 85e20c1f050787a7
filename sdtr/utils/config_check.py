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
import copy
import difflib
import inspect
from typing import Any, Dict, Iterable, List, Optional

from mmengine.runner import Runner
from torch.utils.data import DataLoader

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


# ------------------------------------------------------- nested keys
_OPEN = None  # accepted keys of a signature that takes anything
#: keys mmengine's Runner.build_dataloader handles itself (besides the
#: DataLoader's own arguments)
_LOADER_KEYS = frozenset({'dataset', 'sampler', 'batch_sampler', 'collate_fn',
                          'worker_init_fn', 'num_batch_per_epoch',
                          'disable_subprocess_warning'})
#: the keys each section reads (sections without a class to ask)
_FIXED_SECTIONS = {
    'auto_scale_lr': ('base_batch_size', 'enable'),
    # mmengine's Runner.setup_env, plus torch_num_threads (QuietSetupRunner)
    'env_cfg': ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit',
                'torch_num_threads'),
    'env_cfg.mp_cfg': ('mp_start_method', 'opencv_num_threads'),
}
#: keys of ``optim_wrapper.paramwise_cfg`` (mmengine's
#: DefaultOptimWrapperConstructor; sdtr's MergedGroups one reads the same)
_PARAMWISE_KEYS = ('custom_keys', 'bias_lr_mult', 'bias_decay_mult',
                   'norm_decay_mult', 'dwconv_decay_mult', 'flat_decay_mult',
                   'dcn_offset_lr_mult', 'bypass_duplicate')
_CUSTOM_KEY_KEYS = ('lr_mult', 'decay_mult')


def accepted_keys(target) -> Optional[frozenset]:
    """The keyword arguments a class (its ``__init__``, following
    ``**kwargs`` up the MRO as long as each level passes them on) or a
    function takes; ``None`` when it takes any keyword."""
    if not inspect.isclass(target):
        params = inspect.signature(target).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in params):
            return _OPEN
        return frozenset(p.name for p in params
                         if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                       p.KEYWORD_ONLY))
    names = set()
    for klass in target.__mro__:
        init = klass.__dict__.get('__init__')
        if klass is object:
            # **kwargs reached object, which takes none; a factory class
            # (no __init__) is called through its __new__
            new = target.__new__
            if not names and new is not object.__new__:
                return accepted_keys(new) - {'cls'} \
                    if accepted_keys(new) is not _OPEN else _OPEN
            break
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):  # a C extension: not inspectable
            return _OPEN
        names |= {p.name for p in params
                  if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return frozenset(names - {'self'})


def _unknown(keys: Iterable[str], accepted: Iterable[str], where: str,
             owner: str) -> List[str]:
    """One message per key of ``keys`` outside ``accepted``."""
    accepted = sorted(set(accepted) - {'self'})
    out = []
    for key in keys:
        if key in accepted or key in ('type', '_scope_'):
            continue
        close = difflib.get_close_matches(str(key), accepted, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ''
        out.append(f'{where}.{key}: unknown key{hint}; {owner} accepts '
                   f'{", ".join(accepted)}')
    return out


def _component(value: dict, where: str, registry, default_type=None,
               skip=(), extra=()) -> List[str]:
    """Check the keys of a component config against the signature of the
    class (or function) its ``type`` names in ``registry``; ``skip``: the
    arguments the builder passes itself, ``extra``: keys the builder
    reads besides them."""
    kind = value.get('type', default_type)
    if isinstance(kind, str):
        try:
            target = registry.get(kind)
        except KeyError:
            target = None
        if target is None:
            return [f'{where}.type: {kind!r} is not registered in the '
                    f'{registry.name} registry']
    elif callable(kind):
        target = kind
    else:
        return []
    accepted = accepted_keys(target)
    if accepted is _OPEN:
        return []
    owner = getattr(target, '__name__', str(kind))
    keys = [k for k in value if k not in skip]
    return _unknown(keys, set(accepted) | set(extra), where, owner)


def _section(cfg: dict, name: str) -> List[str]:
    """The unknown nested keys of one top-level section."""
    from mmengine.registry import FUNCTIONS

    from sdtr import registry as R
    value = cfg.get(name)
    if name in _FIXED_SECTIONS:
        if not isinstance(value, dict):
            return []
        out = _unknown(value, _FIXED_SECTIONS[name], name, name)
        if name == 'env_cfg' and isinstance(value.get('mp_cfg'), dict):
            out += _unknown(value['mp_cfg'], _FIXED_SECTIONS['env_cfg.mp_cfg'],
                            'env_cfg.mp_cfg', 'env_cfg.mp_cfg')
        return out
    if name == 'randomness' and isinstance(value, dict):
        return _unknown(value, accepted_keys(Runner.set_randomness),
                        name, 'Runner.set_randomness')
    if name == 'load_cfg' and isinstance(value, dict):
        # the keys the runner that reads load_cfg declares
        target = R.RUNNERS.get(cfg.get('runner_type') or 'QuietSetupRunner')
        keys = getattr(target, 'LOAD_CFG_KEYS', None)
        return [] if keys is None else _unknown(
            value, keys, name, f'{target.__name__} (load_cfg)')
    if name == 'default_hooks' and isinstance(value, dict):
        return [m for k, v in value.items() if isinstance(v, dict)
                for m in _component(v, f'default_hooks.{k}', R.HOOKS)]
    if name == 'custom_hooks' and isinstance(value, (list, tuple)):
        return [m for i, v in enumerate(value) if isinstance(v, dict)
                for m in _component(v, f'custom_hooks[{i}]', R.HOOKS)]
    if name == 'optim_wrapper' and isinstance(value, dict):
        return _optim_wrapper(value)
    if name == 'param_scheduler' and value is not None:
        items = value if isinstance(value, (list, tuple)) else [value]
        return [m for i, v in enumerate(items) if isinstance(v, dict)
                for m in _component(
                    v, f'param_scheduler[{i}]' if isinstance(
                        value, (list, tuple)) else name,
                    R.PARAM_SCHEDULERS, skip=('optimizer', ),
                    extra=('convert_to_iter_based', ))]
    if name in ('train_cfg', 'val_cfg', 'test_cfg') and isinstance(
            value, dict):
        default = dict(train_cfg='EpochBasedTrainLoop' if value.get(
            'by_epoch', True) and 'max_iters' not in value else
            'IterBasedTrainLoop', val_cfg='ValLoop', test_cfg='TestLoop')
        return _component(value, name, R.LOOPS, default[name],
                          skip=('runner', 'dataloader', 'evaluator'),
                          extra=('by_epoch', ))
    if name.endswith('_dataloader') and isinstance(value, dict):
        out = _unknown(value, accepted_keys(DataLoader) | _LOADER_KEYS,
                       name, 'the dataloader (torch DataLoader + mmengine)')
        if isinstance(value.get('sampler'), dict):
            out += _component(value['sampler'], f'{name}.sampler',
                              R.DATA_SAMPLERS, skip=('dataset', ))
        if isinstance(value.get('collate_fn'), dict):
            out += _component(value['collate_fn'], f'{name}.collate_fn',
                              FUNCTIONS, skip=('data_batch', ))
        if isinstance(value.get('dataset'), dict):
            out += _dataset(value['dataset'], f'{name}.dataset')
        return out
    if name == 'model' and isinstance(value, dict):
        return _model_part(value, 'model')
    return []


def _optim_wrapper(value: dict) -> List[str]:
    from sdtr import registry as R
    where = 'optim_wrapper'
    out = _component(value, where, R.OPTIM_WRAPPERS, 'OptimWrapper',
                     extra=('constructor', 'paramwise_cfg'))
    if isinstance(value.get('optimizer'), dict):
        out += _component(value['optimizer'], f'{where}.optimizer',
                          R.OPTIMIZERS, skip=('params', ))
    paramwise = value.get('paramwise_cfg')
    if isinstance(paramwise, dict):
        out += _unknown(paramwise, _PARAMWISE_KEYS, f'{where}.paramwise_cfg',
                        'the optimizer wrapper constructor')
        for key, mults in (paramwise.get('custom_keys') or {}).items():
            if isinstance(mults, dict):
                out += _unknown(mults, _CUSTOM_KEY_KEYS,
                                f'{where}.paramwise_cfg.custom_keys.{key}',
                                'a custom key')
    return out


def _dataset(value: dict, where: str) -> List[str]:
    """A dataset config and the transforms of its pipeline; wrapped
    datasets (``dataset=``, ``datasets=[...]``) too."""
    from sdtr import registry as R
    out = _component(value, where, R.DATASETS)
    for i, step in enumerate(value.get('pipeline') or ()):
        if isinstance(step, dict):
            out += _component(step, f'{where}.pipeline[{i}]', R.TRANSFORMS)
    inner = value.get('dataset')
    if isinstance(inner, dict) and 'type' in inner:
        out += _dataset(inner, f'{where}.dataset')
    for i, inner in enumerate(value.get('datasets') or ()):
        if isinstance(inner, dict) and 'type' in inner:
            out += _dataset(inner, f'{where}.datasets[{i}]')
    return out


#: per-loss keys the retriever's loss loop reads (``build_losses``)
_LOSS_LOOP_KEYS = ('inputs', 'label_key', 'separate_scale')


def _model_part(value: dict, where: str, extra=()) -> List[str]:
    """A model component and the typed components nested in it (a loss
    may also carry the loop's per-loss keys)."""
    from sdtr import registry as R
    registry = R.TOKENIZERS if where.endswith('tokenizer') else R.MODELS
    out = _component(value, where, registry, extra=extra) \
        if 'type' in value else []
    for key, sub in value.items():
        if key == 'init_cfg':
            continue
        loop_keys = _LOSS_LOOP_KEYS if key == 'losses' else ()
        if isinstance(sub, dict) and 'type' in sub:
            out += _model_part(sub, f'{where}.{key}', loop_keys)
        elif isinstance(sub, dict) and key == 'losses':
            out += [m for n, loss in sub.items()
                    if isinstance(loss, dict) and 'type' in loss
                    for m in _model_part(loss, f'{where}.losses.{n}',
                                         loop_keys)]
        elif isinstance(sub, (list, tuple)):
            out += [m for i, item in enumerate(sub)
                    if isinstance(item, dict) and 'type' in item
                    for m in _model_part(item, f'{where}.{key}[{i}]',
                                         loop_keys)]
    return out


#: sections whose nested keys :func:`nested_key_errors` checks
NESTED_SECTIONS = ('auto_scale_lr', 'env_cfg', 'load_cfg', 'randomness',
                   'default_hooks', 'custom_hooks', 'optim_wrapper',
                   'param_scheduler', 'train_cfg', 'val_cfg', 'test_cfg',
                   'train_dataloader', 'val_dataloader', 'test_dataloader',
                   'model')


def nested_key_errors(cfg) -> List[str]:
    """Misspelt or unknown keys inside the sections a run reads, each named
    with its path, the class that reads it and the keys it accepts
    (checked against the signature of the class or function the ``type``
    names, following ``**kwargs`` to where they go)."""
    cfg = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    scope = cfg.get('default_scope') or 'sdtr'
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        return [m for name in NESTED_SECTIONS for m in _section(cfg, name)]


# ------------------------------------------------- the model's tokenizer
def bind_model_tokenizer(cfg) -> int:
    """Fill every ``TokenizeCaption(tokenizer='model')`` of ``cfg`` (any
    section but the model) with ``model.tokenizer``, so that the merged
    config shows the tokenizer the pipeline builds; returns how many.

    Raises:
        ConfigError: a ``TokenizeCaption`` names a tokenizer config other
            than the model's.
    """
    model = cfg.get('model')
    tokenizer = model.get('tokenizer') if isinstance(model, dict) else None
    if not isinstance(tokenizer, dict):
        return 0
    want = tokenizer.to_dict() if hasattr(tokenizer, 'to_dict') else dict(
        tokenizer)
    found = []

    def walk(node, path):
        if isinstance(node, dict):
            if str(node.get('type', '')).split('.')[-1] == 'TokenizeCaption':
                found.append((node, path))
            for k, v in node.items():
                walk(v, f'{path}.{k}')
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f'{path}[{i}]')

    for key in cfg:
        if key != 'model':
            walk(cfg[key], key)
    for node, path in found:
        given = node.get('tokenizer')
        if given == 'model':
            node['tokenizer'] = copy.deepcopy(want)
            continue
        given = given.to_dict() if hasattr(given, 'to_dict') else given
        if given != want:
            raise ConfigError(
                f'{path}.tokenizer is {given!r} but the model tokenises with '
                f'model.tokenizer = {want!r}: the pipeline would make token '
                "ids the model does not read. Use tokenizer='model'")
    return len(found)


def check_config(cfg, source: Optional[str] = None) -> None:
    """Raise :class:`ConfigError` listing every top-level key of ``cfg``
    that changes nothing (see the module docstring), every loader whose
    sampler composes batches of another size (:func:`batch_size_mismatches`)
    and every unknown key inside the sections a run reads
    (:func:`nested_key_errors`), before anything is built.
    """
    where = f' in {source}' if source else ''
    mismatched = batch_size_mismatches(cfg)
    if mismatched:
        raise ConfigError(f'config{where}: batch sizes disagree:\n' +
                          '\n'.join(f'  {v}' for v in mismatched.values()))
    nested = nested_key_errors(cfg)
    if nested:
        raise ConfigError(f'config{where} has keys that nothing reads:\n' +
                          '\n'.join(f'  {m}' for m in nested))
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
    """``Config.fromfile(path)`` plus ``--cfg-options``, the model's
    tokenizer bound into the pipelines (:func:`bind_model_tokenizer`),
    refusing keys that would change nothing (:func:`check_cfg_options`,
    :func:`check_config`)."""
    from mmengine.config import Config
    from .renamed_configs import resolve_config_path
    from .setup_env import merge_cfg_options
    path = resolve_config_path(path)  # config files renamed since
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg_options, cfg)
        merge_cfg_options(cfg, cfg_options)
    bind_model_tokenizer(cfg)
    check_config(cfg, path)
    return cfg
