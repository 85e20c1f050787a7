"""Data transforms of sdtr.

Importing :mod:`mmcv.transforms` registers mmcv's transforms (``Resize``,
``RandomFlip``, ...) in MMEngine's root ``TRANSFORMS``, so they resolve from
the ``sdtr`` scope; mmpretrain's need the ``mmpretrain.`` prefix
(``type='mmpretrain.RandomResizedCrop'``).
"""
import mmcv.transforms  # noqa: F401  (registers mmcv transforms)

from .formatting import PackRetrievalInputs
from .loading import LoadImage
from .random_augment import RandomAugment
from .text import PreCaption
from .tokenize import TokenizeCaption

__all__ = [
    'LoadImage', 'PackRetrievalInputs', 'PreCaption', 'RandomAugment',
    'TokenizeCaption'
]
