"""Old names of renamed dataset types, kept working with a warning.

Dataset classes follow one naming scheme (``docs/architecture.md``, section
"Naming"): every registered dataset ends in ``Dataset``.  The names below
were used before that scheme; a config (``type='CUHKPEDES'``) or an import
(``from sdtr.datasets import CUHKPEDES``) with an old name still builds the
same class and warns once per name and process (``FutureWarning``).
"""
import warnings

from sdtr.registry import DATASETS

#: old registered name -> current name
RENAMED_DATASETS = {
    'CUHKPEDES': 'CUHKPEDESDataset',
    'ICFGPEDES': 'ICFGPEDESDataset',
    'RSTPReid': 'RSTPReidDataset',
    'SyntheticPersonCaptions': 'SyntheticPersonCaptionDataset',
    'SyntheticRSCaptions': 'SyntheticRSCaptionDataset',
    'SyntheticSceneFolders': 'SyntheticSceneFolderDataset',
    'WebDatasetCaptions': 'WebDatasetCaptionDataset',
}

_WARNED = set()


def warn_renamed(old: str) -> None:
    """Warn (once per process) that dataset type ``old`` was renamed."""
    if old in _WARNED:
        return
    _WARNED.add(old)
    warnings.warn(
        f'dataset type {old!r} was renamed to {RENAMED_DATASETS[old]!r}; '
        'the old name still works but will be removed in a future release '
        '(update type= in your config and your imports)',
        FutureWarning, stacklevel=3)


def _alias(old: str, cls):

    def build(*args, **kwargs):
        warn_renamed(old)
        return cls(*args, **kwargs)

    build.__name__ = build.__qualname__ = old
    build.__doc__ = f'Deprecated name of :class:`{cls.__name__}`.'
    return build


def register_renamed(namespace: dict) -> None:
    """Register every old name in ``DATASETS`` as a warning alias.

    Args:
        namespace (dict): where the current classes are found by name
            (the ``globals()`` of :mod:`sdtr.datasets`).
    """
    for old, new in RENAMED_DATASETS.items():
        DATASETS.register_module(name=old, module=_alias(old, namespace[new]))
