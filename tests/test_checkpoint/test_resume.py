"""find_resume_checkpoint: the newest complete checkpoint of a work dir,
whatever state its ``last_checkpoint`` pointer is in."""
import logging
import os
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger

from sdtr.checkpoint import save_checkpoint
from sdtr.checkpoint.resume import (ResumeError, checkpoint_problem,
                                    find_resume_checkpoint, run_checkpoints)


@pytest.fixture
def warnings_():
    """The warnings logged through mmengine's current logger."""
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield lambda: '\n'.join(r.getMessage() for r in records
                            if r.levelno >= logging.WARNING)
    logger.removeHandler(handler)


def _save(folder, name, mtime=None):
    path = str(folder / name)
    save_checkpoint(dict(meta=dict(name=name),
                         state_dict=dict(w=torch.ones(64))), path)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def _point(folder, target):
    (folder / 'last_checkpoint').write_text(str(target))


def test_complete_truncated_and_corrupt(tmp_path):
    path = _save(tmp_path, 'epoch_1.pth')
    assert checkpoint_problem(path) is None
    data = bytearray(open(path, 'rb').read())
    (tmp_path / 'short.pth').write_bytes(bytes(data[:len(data) // 2]))
    assert 'not a complete checkpoint (not a PyTorch zip' in checkpoint_problem(
        str(tmp_path / 'short.pth'))
    # one flipped bit inside the tensor bytes fails that record's digest
    flip = bytes(data).index(torch.ones(64).numpy().tobytes())
    data[flip + 5] ^= 0x10
    (tmp_path / 'flip.pth').write_bytes(bytes(data))
    assert 'does not match the digest' in checkpoint_problem(
        str(tmp_path / 'flip.pth'))
    (tmp_path / 'text.pth').write_text('not a checkpoint')
    assert checkpoint_problem(str(tmp_path / 'text.pth'))


def test_order_numbers_within_a_kind_mtime_across(tmp_path):
    for epoch, mtime in ((1, 100), (2, 300), (10, 500)):
        _save(tmp_path, f'epoch_{epoch}.pth', mtime)
    _save(tmp_path, 'iter_750.pth', 400)  # stopped mid-epoch 10... earlier
    _save(tmp_path, 'best_mR_epoch_2.pth', 900)  # not a run checkpoint
    (tmp_path / 'epoch_x.pth').write_text('')
    names = [osp.basename(p) for p in run_checkpoints(str(tmp_path))]
    assert names == ['epoch_10.pth', 'iter_750.pth', 'epoch_2.pth',
                     'epoch_1.pth']
    assert run_checkpoints(str(tmp_path / 'missing')) == []


def test_pointer_to_a_complete_checkpoint_wins(tmp_path, warnings_):
    old = _save(tmp_path, 'epoch_1.pth', 100)
    _save(tmp_path, 'epoch_2.pth', 200)
    _point(tmp_path, old)  # e.g. --resume of a run stopped on purpose
    assert find_resume_checkpoint(str(tmp_path)) == old
    assert warnings_() == ''


@pytest.mark.parametrize('pointer', [
    None, b'\xff\xfe\x00 garbage', b'', b'/nowhere/epoch_9.pth'])
def test_broken_pointer_falls_back_to_the_newest(tmp_path, warnings_,
                                                 pointer):
    _save(tmp_path, 'epoch_1.pth')
    newest = _save(tmp_path, 'epoch_2.pth')
    if pointer is not None:
        (tmp_path / 'last_checkpoint').write_bytes(pointer)
    assert find_resume_checkpoint(str(tmp_path)) == newest
    text = warnings_()
    assert f'resume: taking {newest}, the newest complete checkpoint of ' \
        f'{tmp_path}' in text
    if pointer:
        assert str(tmp_path / 'last_checkpoint') in text


def test_pointer_of_a_moved_work_dir(tmp_path):
    path = _save(tmp_path, 'epoch_3.pth')
    _point(tmp_path, '/old/place/of/the/run/epoch_3.pth')
    assert find_resume_checkpoint(str(tmp_path)) == path


def test_incomplete_newest_is_skipped(tmp_path, warnings_):
    good = _save(tmp_path, 'epoch_1.pth', 100)
    bad = _save(tmp_path, 'epoch_2.pth', 200)
    with open(bad, 'r+b') as f:
        f.truncate(100)
    _point(tmp_path, bad)
    assert find_resume_checkpoint(str(tmp_path)) == good
    text = warnings_()
    assert f'resume: skipping {bad}: not a complete checkpoint' in text
    assert f'resume: taking {good}' in text and 'epoch_2.pth skipped' in text


def test_no_checkpoint_and_only_incomplete_ones(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) is None
    assert find_resume_checkpoint(str(tmp_path / 'not-yet')) is None
    (tmp_path / 'last_checkpoint').write_bytes(b'\xff')
    assert find_resume_checkpoint(str(tmp_path)) is None
    (tmp_path / 'iter_40.pth').write_bytes(b'PK\x03\x04 cut short')
    with pytest.raises(ResumeError) as err:
        find_resume_checkpoint(str(tmp_path))
    msg = str(err.value)
    assert f'{tmp_path} holds checkpoints but none is complete' in msg
    assert 'iter_40.pth skipped' in msg and '--resume PATH' in msg
