"""CheckpointRunner: ``load_from``/``resume`` read through sdtr.checkpoint
and loaded strictly (coverage report, resume always strict, ``load_cfg``),
with the file's digest as the model's weights identity; no hook rewrites
the checkpoint."""
import logging

import pytest
import torch
from mmengine.model import BaseModel

from sdtr.checkpoint import (CheckpointMismatchError, save_checkpoint,
                             weights_identity)
from sdtr.engine.runner import CheckpointRunner


class TwoLayers(BaseModel):

    def __init__(self, width=4):
        super().__init__()
        self.a = torch.nn.Linear(4, width)
        self.b = torch.nn.Linear(width, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.b(self.a(inputs))


def _runner(tmp_path, load_cfg=None, resume=False):
    return CheckpointRunner(
        model=TwoLayers(), work_dir=str(tmp_path / 'w'),
        cfg=dict(load_cfg=load_cfg) if load_cfg else None, resume=resume,
        default_scope='sdtr',
        experiment_name=f'strict-{abs(hash(str(tmp_path)))}-{resume}')


def test_partial_load_reports_coverage(tmp_path):
    other = TwoLayers(width=3)  # a.* and b.weight differ in shape
    sd = dict(other.state_dict(), extra=torch.zeros(1))
    sd['a.bias'] = torch.full((4, ), 7.0)  # the one tensor that fits
    path = str(tmp_path / 'c.pth')
    torch.save(dict(state_dict=sd), path)

    runner = _runner(tmp_path)
    with pytest.raises(CheckpointMismatchError) as err:
        runner.load_checkpoint(path)
    msg = str(err.value)
    assert 'unexpected keys (1): extra' in msg
    assert 'a.weight: checkpoint (3, 4) vs model (4, 4)' in msg
    assert 'b.weight: checkpoint (1, 3) vs model (1, 4)' in msg

    runner = _runner(tmp_path / 'p', load_cfg=dict(strict=False))
    before = runner.model.a.weight.clone()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    runner.logger.addHandler(handler)
    runner.load_checkpoint(path)
    text = '\n'.join(r.getMessage() for r in records)
    # 2 of 4 model tensors: a.bias (loaded) and b.bias (same shape (1,))
    assert 'loaded 2/4 model tensors (50.0%)' in text
    assert 'kept as initialised: a.weight, b.weight' in text
    assert torch.equal(runner.model.a.bias, torch.full((4, ), 7.0))
    assert torch.equal(runner.model.a.weight, before)


def test_resume_is_strict_even_with_partial_load(tmp_path):
    path = str(tmp_path / 'c.pth')
    torch.save(dict(state_dict=TwoLayers(width=3).state_dict()), path)
    runner = _runner(tmp_path, load_cfg=dict(strict=False), resume=True)
    with pytest.raises(CheckpointMismatchError, match='resume checkpoint'):
        runner.load_checkpoint(path)


def test_unknown_load_cfg_key_is_an_error(tmp_path):
    path = str(tmp_path / 'c.pth')
    torch.save(dict(state_dict=TwoLayers().state_dict()), path)
    runner = _runner(tmp_path, load_cfg=dict(strct=False))
    with pytest.raises(KeyError, match='strct'):
        runner.load_checkpoint(path)


def test_load_from_records_the_identity_of_the_bytes_read(tmp_path):
    """A complete load names the file's digest; a partial one does not, and
    an in-place change of the weights drops the recorded identity."""
    path = str(tmp_path / 'c.pth')
    save_checkpoint(dict(state_dict=TwoLayers().state_dict()), path)
    runner = _runner(tmp_path)
    runner.load_checkpoint(path)
    identity = weights_identity(runner.model)
    assert identity.startswith('file:')
    again = _runner(tmp_path / 'again')
    again.load_checkpoint(path)
    assert weights_identity(again.model) == identity
    with torch.no_grad():
        again.model.a.weight.add_(1.0)
    assert weights_identity(again.model).startswith('state:')

    sd = TwoLayers().state_dict()
    sd.pop('b.bias')
    save_checkpoint(dict(state_dict=sd), path)
    partial = _runner(tmp_path / 'p', load_cfg=dict(strict=False))
    partial.load_checkpoint(path)
    assert weights_identity(partial.model).startswith('state:')
