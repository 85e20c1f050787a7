"""The one door through which weights enter sdtr.

Every byte of weights (local files, URLs, zoo names, pretrained towers,
TorchScript archives, converters, ``load_from``, ``--resume``,
``tools/test.py``) is read here and nothing else in the project unpickles;
every checkpoint sdtr writes is sealed here.  This package sits below
``models``, ``engine`` and ``apis``.  See docs/pretrained_weights.md.
"""
from .door import (TRUST_ENV, Checkpoint, load_checkpoint, open_checkpoint,
                   read_file, read_state_dict, register_mmengine_loaders,
                   save_checkpoint, unwrap_state_dict)
from .identity import record_weights_identity, weights_identity
from .records import CheckpointError, atomic_write
from .sources import (OFFLINE_ENV, ChecksumError, is_url, local_file,
                      resolve_pretrained, verify_sha256)
from .strict import (CheckpointMismatchError, LoadReport, PretrainedMixin,
                     compare_state_dicts, load_weights, select_prefix)

__all__ = [
    'Checkpoint', 'CheckpointError', 'CheckpointMismatchError',
    'ChecksumError', 'LoadReport', 'OFFLINE_ENV', 'PretrainedMixin',
    'TRUST_ENV', 'atomic_write', 'compare_state_dicts', 'is_url',
    'load_checkpoint', 'load_weights', 'local_file', 'open_checkpoint',
    'read_file', 'read_state_dict', 'record_weights_identity',
    'register_mmengine_loaders', 'resolve_pretrained', 'save_checkpoint',
    'select_prefix', 'unwrap_state_dict', 'verify_sha256', 'weights_identity'
]
