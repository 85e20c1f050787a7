"""No config value that looks like a setting may silently do nothing.

mmengine copies top-level variables into the settings while a config file
is parsed, so ``max_epochs = 50`` in a child config or ``--cfg-options
max_epochs=50`` changes only the variable.  For every config file under
``configs/`` (bases included) each top-level key that the runner does not
read is overridden both ways -- as a child config that sets it (merged into
its base the way mmengine merges a child file, ``Config._merge_a_into_b``;
the last test writes real child files) and with ``Config.merge_from_dict``
as ``--cfg-options`` does -- and the effective
settings (the keys the runner reads) must change.  The only exception are
building blocks (``train_pipeline``: a component definition that the
settings use verbatim): overriding those is refused loudly by
``sdtr.utils.config_check`` (``tools/train.py`` and ``tools/test.py`` call
it), never ignored.
"""
import copy
import functools
from pathlib import Path

import pytest
from mmengine.config import Config, ConfigDict

from sdtr.utils.config_check import (RUNNER_KEYS, ConfigError,
                                     check_cfg_options, check_config,
                                     dead_keys, is_component)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(REPO.glob('configs/**/*.py'))


def rel(path):
    return str(Path(path).relative_to(REPO))


def plain(value):
    if isinstance(value, ConfigDict):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain(v) for v in value)
    return value


def settings(cfg):
    if isinstance(cfg, Config):
        cfg = cfg.to_dict()
    return {k: v for k, v in cfg.items() if k in RUNNER_KEYS}


def perturb(value):
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value * 2 + 1
    if isinstance(value, float):
        return value * 2 + 1e-3
    if isinstance(value, str):
        return value + '_changed'
    if value is None:
        return 1
    if isinstance(value, dict):
        for k, v in value.items():
            if k != 'type':
                return dict(value, **{k: perturb(v)})
        return dict(value, changed=True)
    if isinstance(value, (list, tuple)):
        if not value:
            return type(value)([1])
        return type(value)([perturb(value[0])] + list(value[1:]))
    raise TypeError(type(value))


@functools.lru_cache(maxsize=None)
def load(path):
    return Config.fromfile(str(path))


def overridden_in_child(path, key, new, tmp_path):
    """A real child config file ``_base_ = [path]; key = new``."""
    child = tmp_path / f'child_{key}.py'
    child.write_text(f'_base_ = [{str(path)!r}]\n{key} = {new!r}\n')
    return Config.fromfile(str(child))


def as_child(cfg, key, new):
    """What a child config setting ``key = new`` gives: mmengine merges a
    child's variables into its base with ``Config._merge_a_into_b`` (the
    same call as in ``Config._file2dict``), so nothing is re-evaluated."""
    return Config._merge_a_into_b({key: new}, copy.deepcopy(cfg))


def silent_overrides(path):
    """``[(key, how)]`` of the top-level keys of ``path`` whose override
    neither changes the settings nor is refused."""
    cfg = load(path).to_dict()
    base = settings(cfg)
    silent = []
    for key in list(cfg):
        if key in RUNNER_KEYS:
            continue
        value = cfg[key]
        if not base and is_component(value):
            continue  # a library of building blocks: checked where used
        new = perturb(value)
        component = is_component(value)
        # 1) --cfg-options KEY=NEW
        via_cli = Config(copy.deepcopy(cfg))
        via_cli.merge_from_dict({key: new})
        if settings(via_cli) == base:
            refused = False
            if component:
                try:
                    check_cfg_options([key], cfg)
                except ConfigError:
                    refused = True
            if not refused:
                silent.append((key, '--cfg-options'))
        # 2) a child config that sets KEY = NEW
        child = as_child(cfg, key, new)
        if settings(child) == base:
            refused = False
            if component:
                try:
                    check_config(child)
                except ConfigError:
                    refused = True
            if not refused:
                silent.append((key, 'child config'))
    return silent


def test_no_dead_knobs_in_any_config():
    assert len(CONFIGS) > 100
    dead = {}
    for path in CONFIGS:
        found = silent_overrides(path)
        if found:
            dead[rel(path)] = found
    assert not dead, (
        f'{sum(map(len, dead.values()))} top-level overrides change nothing '
        f'in {len(dead)} config files:\n' +
        '\n'.join(f'{p}: {sorted(set(k for k, _ in v))}'
                  for p, v in dead.items()))


def test_every_config_passes_the_dead_key_check():
    bad = {rel(p): sorted(dead_keys(load(p))) for p in CONFIGS}
    bad = {p: keys for p, keys in bad.items() if keys}
    assert not bad, '\n'.join(f'{p}: {k}' for p, k in bad.items())
    # every block of a library base is used by some config
    used = {(key, repr(plain(load(p)[key])))
            for p in CONFIGS if settings(load(p)) for key in load(p)}
    for p in CONFIGS:
        cfg = load(p)
        if not settings(cfg):
            for key in cfg:
                assert (key, repr(plain(cfg[key]))) in used, (rel(p), key)


def test_the_check_catches_both_override_paths(tmp_path):
    """A child config that sets a schedule variable, or redefines a building
    block without using it, and a --cfg-options of a variable: all loud."""
    path = REPO / 'configs/clip/clip_vit-b16_1xb128_rsitmd-galr.py'
    child = overridden_in_child(path, 'max_epochs', 50, tmp_path)
    with pytest.raises(ConfigError, match='train_cfg.max_epochs'):
        check_config(child)
    cfg = Config.fromfile(str(path))
    with pytest.raises(ConfigError, match='optim_wrapper.optimizer.lr'):
        check_cfg_options(['lr'], cfg)
    check_cfg_options(['train_cfg.max_epochs', 'optim_wrapper.optimizer.lr'],
                      cfg)
    pipe = [dict(type='LoadImage'), dict(type='PackRetrievalInputs')]
    child = overridden_in_child(path, 'train_pipeline', pipe, tmp_path)
    with pytest.raises(ConfigError, match='building block'):
        check_config(child)
