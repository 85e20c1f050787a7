"""Checkpoint files read record by record: size limits, digests, seals.

Each record of a PyTorch zip archive (or the data of a ``.safetensors`` file)
is read once, straight into the memory it will live in, and hashed
(XXH3-128) in the same pass; declared sizes are checked before anything is
allocated.  A file sdtr wrote carries a seal, one record with the digest of
every other record, checked as each record is read.
See docs/pretrained_weights.md#integrity.
"""
import io
import json
import math
import os
import struct
import zipfile
from typing import Dict, Optional

import torch
import xxhash

from sdtr.utils.errors import SdtrError

SEAL = '.data/sdtr_digest.json'
#: the records of a file may claim at most its size plus this (inflation)
MAX_INFLATION = 64 << 20
CHUNK = 256 << 10  # fits the L2 cache


class CheckpointError(SdtrError, RuntimeError):
    """A checkpoint refused: unsafe, corrupt, over a limit or unreadable."""


def _fill(src, view: memoryview, digest) -> None:
    """Read ``len(view)`` bytes of ``src`` into ``view``, hashing each chunk
    right after it is read, while it is still in the CPU cache."""
    pos = 0
    while pos < len(view):
        n = src.readinto(view[pos:pos + CHUNK])
        if not n:
            raise EOFError('the file ends inside a record')
        digest.update(view[pos:pos + n])
        pos += n


class Records:
    """The records of the PyTorch zip archive in the seekable binary file
    ``file`` (named ``name`` in messages)."""

    def __init__(self, file, name: str):
        self.file, self.name = file, name
        self.size = file.seek(0, io.SEEK_END)
        try:
            self.zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError) as err:
            raise CheckpointError(f'{name}: not a PyTorch zip archive '
                                  f'({err})') from err
        self.infos = {i.filename: i for i in self.zip.infolist()}
        claimed = sum(i.file_size for i in self.infos.values())
        if claimed > self.size + MAX_INFLATION:
            raise CheckpointError(
                f'{name}: its records claim {claimed} bytes but the file has '
                f'{self.size}; records may inflate by at most {MAX_INFLATION}'
                ' bytes in all (PyTorch stores tensors uncompressed), so '
                'nothing was allocated')
        pickles = [n for n in self.infos if n.endswith('/data.pkl')
                   and n.count('/') == 1]
        if len(pickles) != 1:
            raise CheckpointError(f'{name}: a zip file without one '
                                  '<folder>/data.pkl is not a checkpoint')
        self.prefix = pickles[0][:-len('data.pkl')]
        self.digests: Dict[str, str] = {}
        self.expected: Optional[Dict[str, str]] = None
        if self.prefix + SEAL in self.infos:
            try:
                self.expected = dict(json.loads(bytes(self.read(
                    self.prefix + SEAL)))['xxh3_128'])
            except (ValueError, KeyError, TypeError) as err:
                raise CheckpointError(f'{name}: its digest record is '
                                      f'unreadable ({err})') from err
            self.digests.clear()

    def record_size(self, name: str) -> int:
        if name not in self.infos:
            raise CheckpointError(f'{self.name}: record {name} is missing')
        return self.infos[name].file_size

    def _offset(self, info) -> int:
        self.file.seek(info.header_offset)
        head = self.file.read(30)
        if head[:4] != b'PK\x03\x04':
            raise ValueError('its zip header is damaged')
        offset = info.header_offset + 30 + sum(struct.unpack('<HH',
                                                             head[26:30]))
        if offset + info.compress_size > self.size:
            raise ValueError('it runs past the end of the file (truncated?)')
        return offset

    def read(self, name: str, out=None):
        """Read record ``name`` into ``out`` (a buffer of its exact size,
        default a new ``bytearray``), hash it and check the seal."""
        size, info = self.record_size(name), self.infos[name]
        out = bytearray(size) if out is None else out
        view, digest = memoryview(out).cast('B'), xxhash.xxh3_128()
        try:
            if len(view) != size:
                raise ValueError(f'{len(view)} bytes expected')
            if info.compress_type == zipfile.ZIP_STORED:
                self.file.seek(self._offset(info))
                _fill(self.file, view, digest)
            else:
                with self.zip.open(info) as src:
                    _fill(src, view, digest)
        except (EOFError, OSError, zipfile.BadZipFile, NotImplementedError,
                ValueError) as err:
            raise CheckpointError(f'{self.name}: record {name} is '
                                  f'unreadable ({err})') from err
        self.digests[name] = digest.hexdigest()
        if self.expected is not None and \
                self.expected.get(name) != self.digests[name]:
            raise CheckpointError(
                f'{self.name}: record {name} does not match the digest sdtr '
                'recorded when it wrote the file: the file is corrupt '
                '(a flipped bit, an overwritten block); nothing was loaded')
        return out

    def finish(self) -> str:
        """Check that every sealed record was read; the digest of all the
        records read (the weights' identity)."""
        if self.expected is not None:
            present = set(self.infos) - {self.prefix + SEAL}
            if present != set(self.expected):
                raise CheckpointError(
                    f'{self.name}: its records differ from those sdtr sealed '
                    f'(added {sorted(present - set(self.expected))}, missing '
                    f'{sorted(set(self.expected) - present)})')
            for name in sorted(present - set(self.digests)):
                self.read(name)
        text = ''.join(f'{k}\0{v}\n' for k, v in sorted(self.digests.items()))
        return xxhash.xxh3_128(text.encode()).hexdigest()


def atomic_write(data, path: str) -> None:
    """Write ``data`` (bytes or str) to ``path`` atomically (temporary file,
    ``fsync``, ``os.replace``); a torch zip archive gets a seal: the digest
    of every record (``torch.load`` ignores the extra record)."""
    path = str(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.partial-{os.getpid()}'
    try:
        with open(tmp, 'w' if isinstance(data, str) else 'wb') as f:
            f.write(data)
        if not isinstance(data, str) and bytes(data[:4]) == b'PK\x03\x04':
            records = Records(io.BytesIO(data), path)
            for name in records.infos:
                records.read(name)
            with zipfile.ZipFile(tmp, 'a') as zf:
                zf.writestr(records.prefix + SEAL, json.dumps(
                    {'xxh3_128': records.digests}, sort_keys=True))
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


_ST_DTYPES = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16,
              'BF16': torch.bfloat16, 'I64': torch.int64, 'I32': torch.int32,
              'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8,
              'BOOL': torch.bool}


def read_safetensors(file, name: str):
    """``(state dict, digest)`` of a ``.safetensors`` file (an 8-byte header
    length, a JSON header, the tensors' bytes: huggingface/safetensors),
    every entry checked against the file before the data is allocated."""
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    head = file.read(8)
    length = struct.unpack('<Q', head)[0] if len(head) == 8 else 0
    if not 0 < length <= min(size - 8, MAX_INFLATION):
        raise CheckpointError(f'{name}: not a safetensors file (header '
                              f'length {length}, file size {size})')
    digest, header = xxhash.xxh3_128(head), bytearray(length)
    _fill(file, memoryview(header), digest)
    data_size, spans = size - 8 - length, {}
    try:
        for key, entry in json.loads(bytes(header)).items():
            if key == '__metadata__':
                continue
            dtype, shape = _ST_DTYPES[entry['dtype']], [
                int(s) for s in entry['shape']]
            begin, end = (int(v) for v in entry['data_offsets'])
            if min(shape + [begin]) < 0 or end > data_size or \
                    end - begin != dtype.itemsize * math.prod(shape):
                raise ValueError(f'entry {key!r} does not fit the data')
            spans[key] = (dtype, shape, begin, end)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f'{name}: bad safetensors header '
                              f'({err})') from err
    data = torch.empty(data_size, dtype=torch.uint8)
    _fill(file, memoryview(data.numpy()), digest)
    state = {}
    for key, (dtype, shape, begin, end) in spans.items():
        raw = data[begin:end] if begin % dtype.itemsize == 0 else \
            data[begin:end].clone()
        state[key] = raw.view(dtype).reshape(shape)
    return state, digest.hexdigest()
