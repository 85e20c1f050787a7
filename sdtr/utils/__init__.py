"""Helpers shared by every layer.

The names below are imported on first use (PEP 562), so that the light
modules of this package (:mod:`~sdtr.utils.model_index`,
:mod:`~sdtr.utils.errors`, :mod:`~sdtr.utils.renamed_configs`) can be
imported by the ``sdtr`` command without torch or mmengine.
"""
import importlib

_EXPORTS = {
    'register_all_modules': 'setup_env',
    'ConfigError': 'config_check',
    'check_config': 'config_check',
    'check_cfg_options': 'config_check',
    'load_config': 'config_check',
    'bind_model_tokenizer': 'config_check',
    'SdtrError': 'errors',
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(importlib.import_module(f'{__name__}.{module}'), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
