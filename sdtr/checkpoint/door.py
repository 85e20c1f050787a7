"""The one door: every checkpoint sdtr reads passes :func:`open_checkpoint`.

A source (path, URL, ``openclip:`` name, Hugging Face folder) is resolved by
:mod:`.sources` and its file read once by :mod:`.records`: a ``torch.save``
archive through the restricted unpickler, a TorchScript archive as data
(its parameters and buffers, as ``torch.jit.load(...).state_dict()`` would
give them, without running any of its code) or a ``.safetensors`` file.
See docs/pretrained_weights.md.
"""
import io
import os
import os.path as osp
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, Optional

import torch
from mmengine.logging import print_log

from .records import CheckpointError, Records, atomic_write, read_safetensors
from .sources import local_file
from .unpickler import Inert, Storage, Unpickler

TRUST_ENV = 'SDTR_TRUST_CHECKPOINTS'
StateDict = Dict[str, torch.Tensor]


@dataclass
class Checkpoint:
    """A file read by the door: its object, the digest of the records read
    (the weights' identity), its path, and whether sdtr's seal checked it."""
    obj: object
    digest: str
    path: str
    sealed: bool = False


def _torchscript_classes(records: Records) -> dict:
    """``{class: (is a module, parameters, buffers, has __setstate__)}``
    from the archive's TorchScript code, read as text."""
    classes, code = {}, records.prefix + 'code/'
    for name in [n for n in records.infos if n.startswith(code)
                 and n.endswith('.py')]:
        text = bytes(records.read(name)).decode('utf-8', 'replace')
        for cls, base, body in re.findall(
                r'^class (\w+)\((\w*)\):\n((?:[ \t]+.*\n?|\n)*)', text, re.M):
            found = [re.search(rf'^\s+{key} = \[(.*)\]', body, re.M)
                     for key in ('__parameters__', '__buffers__')]
            classes[f'{name[len(code):-3].replace("/", ".")}.{cls}'] = (
                base == 'Module',
                *(re.findall(r'"([^"]*)"', m.group(1)) if m else []
                  for m in found),
                bool(re.search(r'^\s+def __setstate__\(', body, re.M)))
    return classes


def _torchscript_state_dict(root, classes, name) -> StateDict:
    out = OrderedDict()

    def walk(obj, prefix):
        if not isinstance(obj, Inert) or obj.qualname not in classes:
            raise CheckpointError(f'{name}: the TorchScript archive has no '
                                  f'code for {getattr(obj, "qualname", obj)}')
        _, params, buffers, setstate = classes[obj.qualname]
        if setstate or not isinstance(obj.state, dict):
            raise CheckpointError(
                f'{name}: TorchScript class {obj.qualname} restores its state '
                'with its own code (__setstate__), which sdtr never runs; '
                'its weights cannot be read as data')
        for attr in params + buffers:
            if isinstance(obj.state.get(attr), torch.Tensor):
                out[prefix + attr] = obj.state[attr].detach()
        for attr, value in obj.state.items():
            if isinstance(value, Inert) and classes.get(
                    value.qualname, (True, ))[0]:
                walk(value, f'{prefix}{attr}.')

    walk(root, '')
    return out


def read_file(file, name: str) -> Checkpoint:
    """Read an open binary file named ``name`` (see the module doc)."""
    head = file.read(4)
    file.seek(0)
    if head[:1] == b'\x80':  # a bare pickle: torch.save before PyTorch 1.6
        raise CheckpointError(f'{name}: a PyTorch file of the pre-1.6 '
                              'format (not a zip archive); re-save it with '
                              'torch.save of PyTorch >= 1.6')
    if head != b'PK\x03\x04':
        return Checkpoint(*read_safetensors(file, name), name)
    records = Records(file, name)
    order = records.prefix + 'byteorder'
    if order in records.infos and bytes(records.read(order)) != b'little':
        raise CheckpointError(f'{name}: not a little-endian archive')
    script = records.prefix + 'constants.pkl' in records.infos
    trusted = os.environ.get(TRUST_ENV, '0') == '1'
    storages = {}

    def storage(dtype, key, numel):
        if key not in storages:
            record, nbytes = f'{records.prefix}data/{key}', numel * \
                dtype.itemsize
            if records.record_size(record) != nbytes:
                raise CheckpointError(
                    f'{name}: record {record} holds '
                    f'{records.record_size(record)} bytes but its tensor '
                    f'needs {nbytes}; nothing was allocated')
            data = torch.empty(nbytes, dtype=torch.uint8)
            records.read(record, data.numpy())
            storages[key] = Storage(data, dtype)
        return storages[key]

    obj = Unpickler(
        bytes(records.read(records.prefix + 'data.pkl')), name, storage,
        lambda module: trusted or script and module.startswith('__torch__')
    ).load()
    if script:
        obj = _torchscript_state_dict(obj, _torchscript_classes(records),
                                      name)
    return Checkpoint(obj, records.finish(), name,
                      records.expected is not None)


def open_checkpoint(source, *, check_hash: bool = False,
                    sha256: Optional[str] = None,
                    offline_dir: Optional[str] = None) -> Checkpoint:
    """Resolve ``source`` (:func:`.sources.local_file`) and read it.

    Raises:
        FileNotFoundError, ChecksumError: see :func:`.sources.local_file`.
        CheckpointError: the file was refused; the message names it and why
            (nothing in it ran).
    """
    path, verified = local_file(source, check_hash, sha256, offline_dir)
    if osp.isdir(path):
        files = [osp.join(path, f)
                 for f in ('model.safetensors', 'pytorch_model.bin')
                 if osp.isfile(osp.join(path, f))]
        if not files:
            raise FileNotFoundError(f'{path} has neither model.safetensors '
                                    'nor pytorch_model.bin')
        path = files[0]
    name = path if str(source) == path else f'{source} ({path})'
    with open(path, 'rb', buffering=0) as f:
        checkpoint = read_file(f, name)
    checkpoint.path = path
    if not checkpoint.sealed:
        print_log(f'{name} carries no sdtr digest (written elsewhere): '
                  'loaded without the integrity check' +
                  (' (its SHA-256 was verified)' if verified else ''),
                  logger='current')
    return checkpoint


def load_checkpoint(source, **options):
    """The object a checkpoint holds (:func:`open_checkpoint`)."""
    return open_checkpoint(source, **options).obj


def save_checkpoint(obj, path: str) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically, with sdtr's seal."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(buffer.getbuffer(), path)


def unwrap_state_dict(obj, source: str = '<state dict>') -> StateDict:
    """The flat ``{key: tensor}`` of a checkpoint object: a ``{'state_dict':
    ...}`` or ``{'model': ...}`` container is opened and a DDP ``module.``
    prefix stripped; any other value is an error naming the entry."""
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise TypeError(f'{source}: the checkpoint is a {type(obj).__name__}'
                        ', not a state dict')
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise TypeError(
            f'{source}: checkpoint entry {bad[0]!r} is a '
            f'{type(obj[bad[0]]).__name__}, not a tensor; expected a state '
            "dict (optionally inside {'state_dict'|'model': ...})")
    out = OrderedDict((re.sub(r'^module\.', '', k), v)
                      for k, v in obj.items())
    if isinstance(getattr(obj, '_metadata', None), dict):  # module versions
        out._metadata = OrderedDict((re.sub(r'^module(\.|$)', '', k), v)
                                    for k, v in obj._metadata.items())
    return out


def read_state_dict(checkpoint, **options) -> StateDict:
    """The flat state dict of a source, an opened :class:`Checkpoint`, a
    state dict or a module."""
    if isinstance(checkpoint, (dict, torch.nn.Module)):
        return unwrap_state_dict(checkpoint)
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = open_checkpoint(checkpoint, **options)
    return unwrap_state_dict(checkpoint.obj, checkpoint.path)


def _mmengine_scheme(filename: str, map_location=None):
    """A ``CheckpointLoader`` scheme: local paths and URLs through the door,
    ``s3://``/``petrel://`` bytes through :func:`read_file`; tensors stay on
    the CPU (mmengine copies them where they go)."""
    scheme = filename.partition('://')[0] if '://' in filename else ''
    if re.fullmatch(r'(\S+:)?(s3|petrel)', scheme):
        from mmengine.fileio import get_file_backend
        data = get_file_backend(filename, backend_args=dict(
            backend='petrel')).get(filename)
        return read_file(io.BytesIO(data), filename).obj
    if scheme not in ('', 'http', 'https'):
        raise CheckpointError(
            f'{filename}: {scheme}:// names are not read by sdtr; pass the '
            "checkpoint's URL or a local path (they are read through "
            'sdtr.checkpoint, which refuses anything that would run code)')
    return load_checkpoint(filename)


def register_mmengine_loaders() -> None:
    """Route every scheme of mmengine's ``CheckpointLoader`` (``init_cfg``,
    mmengine's ``load_checkpoint``) through the door; idempotent."""
    from mmengine.runner import CheckpointLoader
    for prefixes in ('', ('http://', 'https://'), ('modelzoo://',
                     'torchvision://'), ('open-mmlab://', 'openmmlab://'),
                     'mmcls://', [r'(\S+\:)?s3://', r'(\S+\:)?petrel://'],
                     'pavi://'):
        CheckpointLoader.register_scheme(prefixes, _mmengine_scheme,
                                         force=True)
