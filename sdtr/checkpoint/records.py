"""Checkpoint files read record by record: size limits, digests, seals.

A PyTorch zip archive (``torch.save``, ``torch.jit.save``) or a
``.safetensors`` file is read once, each record straight into the memory it
will live in, and hashed (XXH3-128) in the same pass.  Sizes are checked
before anything is allocated.  A file that sdtr wrote carries a *seal*, one
extra record with the digest of every other record; each record is checked
against it as soon as it is read.  See docs/pretrained_weights.md#integrity.
"""
import io
import json
import os
import struct
import threading
import zipfile
from typing import Dict, Optional

import torch
import xxhash

SEAL = '.data/sdtr_digest.json'
#: compressed records may add at most this many bytes to the file's size
MAX_INFLATION = 64 << 20
CHUNK = 4 << 20


class CheckpointError(RuntimeError):
    """A checkpoint refused: unsafe, corrupt, over a limit or unreadable."""


def _fill(src, view: memoryview, digest) -> None:
    """Read ``len(view)`` bytes of ``src`` into ``view`` and hash them.

    Large reads run in a helper thread (``readinto`` releases the GIL) while
    this one hashes the previous chunk, so hashing overlaps the I/O.
    """
    chunks = [(i, min(i + CHUNK, len(view)))
              for i in range(0, len(view), CHUNK)]
    filled = [threading.Event() for _ in chunks]
    errors = []

    def read():
        try:
            for (lo, hi), done in zip(chunks, filled):
                while lo < hi:
                    n = src.readinto(view[lo:hi])
                    if not n:
                        raise EOFError('the file ends inside a record')
                    lo += n
                done.set()
        except BaseException as err:  # noqa: BLE001 - re-raised below
            errors.append(err)
            for done in filled:
                done.set()

    reader = threading.Thread(target=read, daemon=True) if len(chunks) > 1 \
        else None
    reader.start() if reader else read()
    for (lo, hi), done in zip(chunks, filled):
        done.wait()
        if errors:
            break
        digest.update(view[lo:hi])
    if reader:
        reader.join()
    if errors:
        raise errors[0]


class Records:
    """The records of one PyTorch zip archive.

    Args:
        file: a seekable binary file.
        name (str): the file's name in messages.
    """

    def __init__(self, file, name: str):
        self.file, self.name = file, name
        self.size = file.seek(0, io.SEEK_END)
        try:
            self.zip = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, ValueError) as err:
            raise CheckpointError(
                f'{name}: not a PyTorch zip archive ({err}); sdtr reads '
                'torch.save files (PyTorch >= 1.6), TorchScript archives '
                'and .safetensors') from err
        self.infos = {i.filename: i for i in self.zip.infolist()}
        claimed = sum(i.file_size for i in self.infos.values())
        if claimed > self.size + MAX_INFLATION:
            raise CheckpointError(
                f'{name}: its records claim {claimed} bytes but the file has '
                f'{self.size}; records may inflate by at most {MAX_INFLATION} '
                'bytes in all (PyTorch stores tensors uncompressed), so '
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
                seal = json.loads(bytes(self.read(self.prefix + SEAL)))
                self.expected = dict(seal['xxh3_128'])
            except (ValueError, KeyError, TypeError) as err:
                raise CheckpointError(f'{name}: its digest record is '
                                      f'unreadable ({err})') from err
            self.digests.clear()

    def record_size(self, name: str) -> int:
        info = self.infos.get(name)
        if info is None:
            raise CheckpointError(f'{self.name}: record {name} is missing')
        return info.file_size

    def _data_offset(self, info) -> int:
        self.file.seek(info.header_offset)
        head = self.file.read(30)
        if len(head) != 30 or head[:4] != b'PK\x03\x04':
            raise CheckpointError(f'{self.name}: the zip header of '
                                  f'{info.filename} is damaged')
        offset = info.header_offset + 30 + sum(struct.unpack('<HH',
                                                             head[26:30]))
        if offset + info.compress_size > self.size:
            raise CheckpointError(f'{self.name}: record {info.filename} '
                                  'runs past the end of the file '
                                  '(truncated?)')
        return offset

    def read(self, name: str, out=None):
        """Read record ``name`` into ``out`` (a buffer of its exact size,
        default a new ``bytearray``), hash it and check the seal."""
        size = self.record_size(name)
        out = bytearray(size) if out is None else out
        view = memoryview(out).cast('B')
        if len(view) != size:
            raise CheckpointError(f'{self.name}: record {name} holds {size} '
                                  f'bytes, {len(view)} expected')
        info, digest = self.infos[name], xxhash.xxh3_128()
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                self.file.seek(self._data_offset(info))
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
        """Check that every sealed record was read and matched; the digest
        of all records read (the weights' identity)."""
        if self.expected is not None:
            present = set(self.infos) - {self.prefix + SEAL}
            if present != set(self.expected):
                raise CheckpointError(
                    f'{self.name}: its records differ from those sdtr sealed '
                    f'(added {sorted(present - set(self.expected))}, missing '
                    f'{sorted(set(self.expected) - present)})')
            for name in sorted(present - set(self.digests)):
                self.read(name)
        return combine(self.digests)


def combine(digests: Dict[str, str]) -> str:
    """One digest of named record digests."""
    text = ''.join(f'{k}\0{v}\n' for k, v in sorted(digests.items()))
    return xxhash.xxh3_128(text.encode()).hexdigest()


def seal(data, path: str) -> None:
    """Write the torch zip archive ``data`` (bytes) to ``path`` with a seal
    record holding the digest of every record (read again by
    :class:`Records`; ``torch.load`` ignores the extra record)."""
    records = Records(io.BytesIO(data), path)
    for name in records.infos:
        records.read(name)
    with open(path, 'wb') as f:
        f.write(data)
    with zipfile.ZipFile(path, 'a') as zf:
        zf.writestr(records.prefix + SEAL,
                    json.dumps({'xxh3_128': records.digests}, sort_keys=True))


# --------------------------------------------------------------------------
# safetensors (https://github.com/huggingface/safetensors, format doc)
# --------------------------------------------------------------------------
_ST_DTYPES = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16,
              'BF16': torch.bfloat16, 'I64': torch.int64, 'I32': torch.int32,
              'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8,
              'BOOL': torch.bool}


def read_safetensors(file, name: str):
    """``(state dict, digest)`` of a ``.safetensors`` file: an 8-byte header
    length, a JSON header, then the tensors' bytes (one buffer, checked
    against every entry before it is allocated)."""
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    head = file.read(8)
    (length, ) = struct.unpack('<Q', head) if len(head) == 8 else (-1, )
    if not 0 < length <= min(size - 8, MAX_INFLATION):
        raise CheckpointError(f'{name}: not a safetensors file (header '
                              f'length {length}, file size {size})')
    digest = xxhash.xxh3_128(head)
    header = bytearray(length)
    _fill(file, memoryview(header), digest)
    try:
        entries = json.loads(bytes(header))
        entries.pop('__metadata__', None)
        data = torch.empty(size - 8 - length, dtype=torch.uint8)
        spans = {}
        for key, entry in entries.items():
            dtype = _ST_DTYPES[entry['dtype']]
            shape = [int(s) for s in entry['shape']]
            begin, end = (int(v) for v in entry['data_offsets'])
            numel = 1
            for s in shape:
                numel *= s
            if min(shape + [begin]) < 0 or end > data.numel() or \
                    end - begin != numel * dtype.itemsize:
                raise ValueError(f'entry {key!r} does not fit the data')
            spans[key] = (dtype, shape, begin, end)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise CheckpointError(f'{name}: bad safetensors header '
                              f'({err})') from err
    _fill(file, memoryview(data.numpy()), digest)
    state = {}
    for key, (dtype, shape, begin, end) in spans.items():
        raw = data[begin:end]
        if begin % dtype.itemsize:
            raw = raw.clone()
        state[key] = raw.view(dtype).reshape(shape)
    return state, digest.hexdigest()


def atomic_write(data, path: str) -> None:
    """Write ``data`` (bytes or str) to ``path`` atomically (a temporary
    file, ``fsync``, ``os.replace``); a torch zip archive gets a seal."""
    path = str(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.partial-{os.getpid()}'
    try:
        if isinstance(data, str):
            with open(tmp, 'w') as f:
                f.write(data)
        elif bytes(data[:4]) == b'PK\x03\x04':
            seal(data, tmp)
        else:
            with open(tmp, 'wb') as f:
                f.write(data)
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
