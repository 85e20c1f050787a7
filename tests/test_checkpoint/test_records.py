"""Integrity and size limits of checkpoint files (sdtr.checkpoint.records):
a checkpoint sdtr wrote is refused after one flipped bit or an overwritten
block, naming the file; a record that claims more bytes than the file can
hold is refused before anything is allocated; foreign files load with one
log line."""
import io
import struct
import zipfile

import pytest
import torch

from sdtr.checkpoint import (CheckpointError, load_checkpoint,
                             open_checkpoint, save_checkpoint)
from sdtr.checkpoint.records import MAX_INFLATION


@pytest.fixture
def sealed(tmp_path):
    torch.manual_seed(0)
    state = {'a.weight': torch.randn(256, 256), 'b.weight': torch.randn(64)}
    path = tmp_path / 'sealed.pth'
    save_checkpoint(dict(state_dict=state, meta=dict(epoch=3)), str(path))
    return path, state


def _record_offset(path, suffix):
    """File offset of the data of the first record ending with suffix."""
    with zipfile.ZipFile(path) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith(suffix))
    with open(path, 'rb') as f:
        f.seek(info.header_offset)
        head = f.read(30)
    return info.header_offset + 30 + sum(struct.unpack('<HH', head[26:30]))


def test_sealed_file_loads_and_plain_torch_still_reads_it(sealed):
    path, state = sealed
    checkpoint = open_checkpoint(str(path))
    assert checkpoint.sealed
    for key, value in state.items():
        assert torch.equal(checkpoint.obj['state_dict'][key], value)
    # the seal is one more record that torch.load ignores
    plain = torch.load(path, weights_only=True)
    assert torch.equal(plain['state_dict']['a.weight'], state['a.weight'])


@pytest.mark.parametrize('damage', ['one_bit', '64KiB', 'pickle_byte'])
def test_corrupted_sealed_file_is_refused(sealed, damage):
    path, _ = sealed
    data = bytearray(path.read_bytes())
    if damage == 'one_bit':  # inside a weight
        data[_record_offset(path, 'data/0') + 1000] ^= 0x04
    elif damage == '64KiB':
        start = _record_offset(path, 'data/0') + 4096
        data[start:start + 65536] = bytes(65536)
    else:  # the metadata (epoch number) in the pickle
        pkl = _record_offset(path, 'data.pkl')
        data[pkl + 40] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(str(path))
    msg = str(err.value)
    assert msg.startswith(str(path)) and 'corrupt' in msg
    assert ('data.pkl' if damage == 'pickle_byte' else 'data/0') in msg


def test_records_added_or_removed_after_sealing_are_refused(sealed, tmp_path):
    path, _ = sealed
    with zipfile.ZipFile(path, 'a') as zf:
        zf.writestr(zf.namelist()[0].split('/')[0] + '/extra', b'x')
    with pytest.raises(CheckpointError, match=r"added \['archive/extra'\]"):
        load_checkpoint(str(path))


def test_foreign_file_loads_with_one_log_line(tmp_path, sealed,
                                              monkeypatch):
    from sdtr.checkpoint import door
    lines = []
    monkeypatch.setattr(door, 'print_log', lambda msg, **kw: lines.append(
        msg))
    path = tmp_path / 'foreign.pth'
    torch.save({'w': torch.ones(3)}, path)
    checkpoint = open_checkpoint(str(path))
    assert not checkpoint.sealed and torch.equal(checkpoint.obj['w'],
                                                 torch.ones(3))
    assert len(lines) == 1 and 'no sdtr digest' in lines[0]
    assert str(path) in lines[0]
    open_checkpoint(str(sealed[0]))  # checked: nothing to say
    assert len(lines) == 1


def _archive_with(records, path):
    """A torch-style zip archive from ``{name: (bytes, compression)}``."""
    with zipfile.ZipFile(path, 'w') as zf:
        for name, (data, compression) in records.items():
            zf.writestr(name, data, compress_type=compression)


def _torch_records(obj):
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with zipfile.ZipFile(buffer) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_record_inflating_past_the_limit_is_refused_before_allocating(
        tmp_path, monkeypatch):
    """A deflated record of zeros (a zip bomb): the declared sizes exceed
    the file's size plus the inflation limit, so nothing is allocated."""
    records = _torch_records({'w': torch.zeros(4)})
    bomb = MAX_INFLATION + (16 << 20)
    storage = next(n for n in records if n.endswith('data/0'))
    for name, data in records.items():
        records[name] = (data, zipfile.ZIP_STORED)
    records[storage] = (bytes(bomb), zipfile.ZIP_DEFLATED)
    path = tmp_path / 'bomb.pth'
    _archive_with(records, path)
    assert path.stat().st_size < 1 << 20  # ~80 MiB of zeros in < 1 MiB
    allocated = []
    real_empty = torch.empty
    monkeypatch.setattr(torch, 'empty', lambda *a, **k: allocated.append(
        a) or real_empty(*a, **k))
    with pytest.raises(CheckpointError, match='claim .* bytes but the file '
                       'has .*nothing was allocated'):
        load_checkpoint(str(path))
    assert not allocated


def test_record_size_must_match_its_tensor(tmp_path):
    """A pickle that asks for a larger storage than its record holds."""
    records = _torch_records({'w': torch.zeros(4)})
    storage = next(n for n in records if n.endswith('data/0'))
    records = {n: (d, zipfile.ZIP_STORED) for n, d in records.items()}
    records[storage] = (bytes(8), zipfile.ZIP_STORED)
    path = tmp_path / 'short.pth'
    _archive_with(records, path)
    with pytest.raises(CheckpointError, match='holds 8 bytes but its tensor '
                       'needs 16; nothing was allocated'):
        load_checkpoint(str(path))


def test_safetensors_header_that_overruns_the_file_is_refused(tmp_path):
    import json
    header = json.dumps({'w': {'dtype': 'F32', 'shape': [1 << 30],
                               'data_offsets': [0, 4 << 30]}}).encode()
    path = tmp_path / 'x.safetensors'
    path.write_bytes(struct.pack('<Q', len(header)) + header + bytes(16))
    with pytest.raises(CheckpointError, match="x.safetensors: bad "
                       "safetensors header .*'w' does not fit"):
        load_checkpoint(str(path))
