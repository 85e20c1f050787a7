"""The one door: every checkpoint sdtr reads or writes passes here.

:func:`open_checkpoint` takes a path, a URL, an ``openclip:<arch>/<tag>`` name
or a Hugging Face folder (:mod:`.sources`), reads the file once
(:mod:`.records`): a ``torch.save`` archive through the restricted unpickler
(:mod:`.unpickler`), a TorchScript archive as data (its tensors, as
``torch.jit.load(...).state_dict()`` would give them, without running any of
its code), or a ``.safetensors`` file; and returns the object with the digest
of the bytes read (the weights' identity).  :func:`save_checkpoint` writes a
sealed file atomically.  mmengine's ``CheckpointLoader`` schemes
(``load_from``, ``resume``, ``init_cfg``) are routed here by
:func:`register_mmengine_loaders`.
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
from .sources import is_url, local_file
from .unpickler import Inert, Storage, Unpickler

TRUST_ENV = 'SDTR_TRUST_CHECKPOINTS'
StateDict = Dict[str, torch.Tensor]


@dataclass
class Checkpoint:
    """What :func:`open_checkpoint` read: ``obj`` (the file's object),
    ``digest`` (XXH3-128 of the records read), ``path``, ``sealed`` (sdtr
    wrote it: every record was checked)."""
    obj: object
    digest: str
    path: str
    sealed: bool = False


def _torchscript_classes(records: Records) -> dict:
    """``{qualified class: (is module, parameters, buffers, has
    __setstate__)}`` from the archive's TorchScript code, read as text."""
    classes, code = {}, records.prefix + 'code/'
    for name in records.infos:
        if not (name.startswith(code) and name.endswith('.py')):
            continue
        text = bytes(records.read(name)).decode('utf-8', 'replace')
        module = name[len(code):-3].replace('/', '.')
        for cls, base, body in re.findall(
                r'^class (\w+)\((\w*)\):\n((?:[ \t]+.*\n?|\n)*)', text, re.M):
            lists = [re.search(rf'^\s+{key} = \[(.*)\]', body, re.M)
                     for key in ('__parameters__', '__buffers__')]
            classes[f'{module}.{cls}'] = (
                base == 'Module',
                *(re.findall(r'"([^"]*)"', m.group(1)) if m else []
                  for m in lists),
                bool(re.search(r'^\s+def __setstate__\(', body, re.M)))
    return classes


def _torchscript_state_dict(root, classes, name) -> StateDict:
    """The parameters and buffers of a TorchScript module tree."""
    out = OrderedDict()

    def walk(obj, prefix):
        is_module, params, buffers, setstate = classes.get(
            obj.qualname, (False, [], [], False))
        if setstate or not isinstance(obj.state, dict):
            raise CheckpointError(
                f'{name}: TorchScript class {obj.qualname} restores its state '
                'with its own code (__setstate__), which sdtr never runs; '
                'its weights cannot be read as data')
        for attr in params + buffers:
            if isinstance(obj.state.get(attr), torch.Tensor):
                out[prefix + attr] = obj.state[attr].detach()
        for attr, value in obj.state.items():
            if isinstance(value, Inert) and value.qualname not in classes:
                raise CheckpointError(f'{name}: the archive has no code for '
                                      f'class {value.qualname}')
            if isinstance(value, Inert) and classes[value.qualname][0]:
                walk(value, f'{prefix}{attr}.')

    if not isinstance(root, Inert) or root.qualname not in classes:
        raise CheckpointError(f'{name}: a TorchScript archive whose root is '
                              'not a module of its code')
    walk(root, '')
    return out


def read_file(file, name: str) -> Checkpoint:
    """Read an open binary file (see the module doc)."""
    head = file.read(4)
    file.seek(0)
    if head[:4] != b'PK\x03\x04':
        obj, digest = read_safetensors(file, name)
        return Checkpoint(obj, digest, name)
    records = Records(file, name)
    script = records.prefix + 'constants.pkl' in records.infos
    trusted = os.environ.get(TRUST_ENV, '0') == '1'
    order = records.prefix + 'byteorder'
    if order in records.infos and bytes(records.read(order)) != b'little':
        raise CheckpointError(f'{name}: not a little-endian archive')
    storages = {}

    def storage(dtype, key, numel):
        if key not in storages:
            record = f'{records.prefix}data/{key}'
            nbytes = numel * dtype.itemsize
            if records.record_size(record) != nbytes:
                raise CheckpointError(
                    f'{name}: record {record} holds '
                    f'{records.record_size(record)} bytes but its tensor '
                    f'needs {nbytes}; nothing was allocated')
            data = torch.empty(nbytes, dtype=torch.uint8)
            records.read(record, data.numpy())
            storages[key] = Storage(data, dtype)
        return storages[key]

    pickle = records.read(records.prefix + 'data.pkl')
    obj = Unpickler(bytes(pickle), name, storage, lambda module, _: (
        script and module.startswith('__torch__')) or trusted).load()
    if script:
        obj = _torchscript_state_dict(obj, _torchscript_classes(records),
                                      name)
    return Checkpoint(obj, records.finish(), name,
                      records.expected is not None)


def open_checkpoint(source, *, check_hash: bool = False,
                    sha256: Optional[str] = None,
                    offline_dir: Optional[str] = None) -> Checkpoint:
    """Resolve ``source`` (path, URL, ``openclip:`` name, Hugging Face
    folder; :func:`.sources.local_file`) and read it (:func:`read_file`).

    Raises:
        FileNotFoundError, ChecksumError: see :func:`.sources.local_file`.
        CheckpointError: the file was refused (the message names it and
            why; nothing in it ran).
    """
    path, verified = local_file(source, check_hash, sha256, offline_dir)
    if osp.isdir(path):
        files = [f for f in ('model.safetensors', 'pytorch_model.bin')
                 if osp.isfile(osp.join(path, f))]
        if not files:
            raise FileNotFoundError(f'{path} has neither model.safetensors '
                                    'nor pytorch_model.bin')
        path = osp.join(path, files[0])
    name = str(source) if str(source) == path else f'{source} ({path})'
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
    """The object a checkpoint file holds (:func:`open_checkpoint`)."""
    return open_checkpoint(source, **options).obj


def save_checkpoint(obj, path: str) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically, with a seal (the
    digest of every record, checked by every later load)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(buffer.getbuffer(), path)


def unwrap_state_dict(obj, source: str = '<state dict>') -> StateDict:
    """The flat ``{key: tensor}`` of a checkpoint object: ``{'state_dict':
    ...}`` or ``{'model': ...}`` containers are opened and a DDP ``module.``
    prefix is stripped; any other value is an error naming the entry."""
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise TypeError(f'{source}: the checkpoint is a {type(obj).__name__}'
                        ', not a state dict')
    out = OrderedDict()
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f'{source}: checkpoint entry {key!r} is a '
                f'{type(value).__name__}, not a tensor; expected a state '
                "dict (optionally inside {'state_dict'|'model': ...})")
        out[key[len('module.'):] if key.startswith('module.') else key] = \
            value
    return out


def read_state_dict(checkpoint, **options) -> StateDict:
    """The flat state dict of a source (:func:`open_checkpoint`), an opened
    :class:`Checkpoint`, a state dict or a module."""
    if isinstance(checkpoint, (dict, torch.nn.Module)):
        return unwrap_state_dict(checkpoint)
    if not isinstance(checkpoint, Checkpoint):
        checkpoint = open_checkpoint(checkpoint, **options)
    return unwrap_state_dict(checkpoint.obj, checkpoint.path)


# --------------------------------------------------------------------------
# mmengine's CheckpointLoader schemes
# --------------------------------------------------------------------------
def _mmengine_scheme(filename: str, map_location=None):
    """Any mmengine checkpoint name, read through the door (tensors stay on
    the CPU; mmengine copies them where they go)."""
    from mmengine.runner import checkpoint as mmckpt
    scheme, _, name = filename.partition('://')
    if scheme == 'pavi':
        raise CheckpointError(f'{filename}: pavi:// is not supported; '
                              'download the file and pass its path')
    if re.fullmatch(r'(\S+:)?(s3|petrel)', scheme):
        from mmengine.fileio import get_file_backend
        data = get_file_backend(filename, backend_args=dict(
            backend='petrel')).get(filename)
        return read_file(io.BytesIO(data), filename).obj
    urls = {'modelzoo': mmckpt.get_torchvision_models,
            'torchvision': mmckpt.get_torchvision_models,
            'open-mmlab': mmckpt.get_external_models,
            'openmmlab': mmckpt.get_external_models,
            'mmcls': mmckpt.get_mmcls_models}.get(scheme)
    if urls is None or is_url(filename):
        return load_checkpoint(filename)
    table = urls()
    name = mmckpt.get_deprecated_model_names().get(name, name) if \
        scheme.endswith('mmlab') else name
    if name not in table:
        raise KeyError(f'{filename}: mmengine knows no checkpoint {name!r}')
    target = table[name]
    obj = load_checkpoint(target if is_url(target) else osp.join(
        mmckpt._get_mmengine_home(), target))
    return mmckpt._process_mmcls_checkpoint(obj) if scheme == 'mmcls' else obj


def register_mmengine_loaders() -> None:
    """Route every scheme of mmengine's ``CheckpointLoader`` through the door
    (called where runners are built; idempotent)."""
    from mmengine.runner import CheckpointLoader
    for prefixes in ('', ('http://', 'https://'), ('modelzoo://',
                     'torchvision://'), ('open-mmlab://', 'openmmlab://'),
                     'mmcls://', [r'(\S+\:)?s3://', r'(\S+\:)?petrel://'],
                     'pavi://'):
        CheckpointLoader.register_scheme(prefixes, _mmengine_scheme,
                                         force=True)
