"""The one door through which weights enter sdtr.

Every byte of weights (local files, URLs, zoo names, pretrained towers,
TorchScript archives, converters, ``load_from``, ``--resume``, galleries and
indexes) is read here; nothing else in the project unpickles.  This package
sits below ``models``, ``engine`` and ``apis``.
"""
from .identity import record_weights_identity, weights_identity

__all__ = ['record_weights_identity', 'weights_identity']
