"""mmengine 0.10.7 + torch >= 2.6: resume / load_from of mmengine's own
checkpoints (HistoryBuffers, numpy arrays and scalars in ``message_hub``)
through sdtr.checkpoint, and every mmengine loader scheme routed there."""
import copy
import os
import os.path as osp

import pytest
import torch
from mmengine.dataset import DefaultSampler
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner.checkpoint import CheckpointLoader
from torch.utils.data import Dataset

from sdtr.checkpoint import (TRUST_ENV, CheckpointError, load_checkpoint,
                             register_mmengine_loaders)
from sdtr.checkpoint import door
from sdtr.engine.runner import CheckpointRunner


class ToyData(Dataset):

    def __init__(self, n=24):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=g)
        self.y = self.x @ torch.tensor([1.0, -2.0, 0.5, 3.0])

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], targets=self.y[i])


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        pred = self.linear(torch.stack(inputs) if isinstance(inputs, list)
                           else inputs).squeeze(-1)
        if mode == 'loss':
            targets = torch.stack(targets) if isinstance(targets,
                                                         list) else targets
            return dict(loss=((pred - targets)**2).mean())
        return pred


class StopAt(Hook):
    """Simulate a crash in the middle of an epoch."""

    def __init__(self, epoch, it):
        self.epoch, self.it = epoch, it

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.epoch == self.epoch and batch_idx == self.it:
            raise KeyboardInterrupt('simulated interruption')


def make_runner(work_dir, max_epochs, resume=False, load_from=None,
                hooks=None):
    torch.manual_seed(0)
    return CheckpointRunner(
        model=ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=ToyData(),
            sampler=dict(type=DefaultSampler, shuffle=True, seed=1),
            batch_size=4,
            num_workers=0,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=0.05)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=1)),
        custom_hooks=hooks,
        randomness=dict(seed=1),
        resume=resume,
        load_from=load_from,
        default_scope='sdtr',
        experiment_name=f'exp{abs(hash((work_dir, max_epochs, resume)))}')


def test_auto_resume_after_interruption_matches_uninterrupted(tmp_path):
    ref = make_runner(str(tmp_path / 'ref'), 3)
    ref.train()
    ref_state = copy.deepcopy(ref.model.state_dict())

    work = str(tmp_path / 'run')
    crashed = make_runner(work, 3, hooks=[StopAt(epoch=2, it=3)])
    with pytest.raises(KeyboardInterrupt):
        crashed.train()
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    saved = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=False)

    resumed = make_runner(work, 3, resume=True)
    resumed.load_or_resume()
    assert resumed.epoch == 2 and resumed.iter == saved['meta']['iter']
    opt_state = resumed.optim_wrapper.optimizer.state_dict()['state']
    for k, v in saved['optimizer']['state'].items():
        torch.testing.assert_close(opt_state[k]['exp_avg'], v['exp_avg'])
        torch.testing.assert_close(opt_state[k]['exp_avg_sq'],
                                   v['exp_avg_sq'])
    resumed._has_loaded = False  # train() loads again, as tools/train.py
    resumed.train()
    for k, v in resumed.model.state_dict().items():
        torch.testing.assert_close(v, ref_state[k])


def test_resume_from_path_and_load_from(tmp_path):
    work = str(tmp_path / 'a')
    make_runner(work, 2).train()
    ckpt = osp.join(work, 'epoch_1.pth')
    r = make_runner(str(tmp_path / 'b'), 2, resume=True, load_from=ckpt)
    r.load_or_resume()
    assert r.epoch == 1
    r2 = make_runner(str(tmp_path / 'c'), 2, load_from=ckpt)
    r2.load_or_resume()
    assert r2.epoch == 0  # load_from loads weights only
    saved = torch.load(ckpt, weights_only=False)['state_dict']
    torch.testing.assert_close(r2.model.state_dict()['linear.weight'],
                               saved['linear.weight'])


class _Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_local_loader_refuses_arbitrary_code(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    register_mmengine_loaders()
    path = str(tmp_path / 'evil.pth')
    torch.save({'x': _Evil()}, path)
    with pytest.raises(CheckpointError, match='safe unpickler refuses '
                       'global posix.system'):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')


def test_trust_switch_keeps_unknown_objects_as_inert_data(
        tmp_path, monkeypatch, capfd):
    """SDTR_TRUST_CHECKPOINTS=1 reads a class outside the allow-list as an
    inert record (its tensors usable); its code still never runs."""
    import argparse
    path = str(tmp_path / 'obj.pth')
    torch.save({'args': argparse.Namespace(lr=0.1), 'evil': _Evil(),
                'state_dict': {'w': torch.ones(2)}}, path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(CheckpointError, match='argparse.Namespace'):
        load_checkpoint(path)
    monkeypatch.setenv(TRUST_ENV, '1')
    obj = load_checkpoint(path)
    assert obj['args'].qualname == 'argparse.Namespace'
    assert obj['args'].state == {'lr': 0.1}
    assert obj['evil'].qualname == 'posix.system'
    assert obj['evil'].args == ('echo pwned', )
    assert torch.equal(obj['state_dict']['w'], torch.ones(2))
    assert 'pwned' not in capfd.readouterr().out


def test_missing_and_corrupt_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint(str(tmp_path / 'nope.pth'))
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='bad.pth.*not a safetensors'):
        load_checkpoint(str(bad))


def test_every_mmengine_scheme_goes_through_the_door():
    """mmengine's own loaders unpickle with torch.load (its http,
    torchvision, open-mmlab and mmcls ones with weights_only=False); all
    schemes are re-registered with the door's."""
    register_mmengine_loaders()
    for prefix in ('', 'http://', 'https://', 'torchvision://',
                   'modelzoo://', 'open-mmlab://', 'openmmlab://',
                   'mmcls://', 'pavi://', r'(\S+\:)?s3://'):
        assert CheckpointLoader._schemes[prefix] is door._mmengine_scheme
    for name in ('pavi://a/b.pth', 'torchvision://resnet50',
                 'open-mmlab://resnet50_caffe'):
        with pytest.raises(CheckpointError, match="names are not read by "
                           "sdtr; pass the checkpoint's URL"):
            CheckpointLoader.load_checkpoint(name)


def test_s3_bytes_are_read_by_the_restricted_loader(tmp_path, monkeypatch):
    """Bytes of an object store go through safe_torch_load as well."""
    from mmengine.fileio import backends
    path = tmp_path / 'evil.pth'
    torch.save({'x': _Evil()}, path)

    class FakePetrel:

        def __init__(self, **kwargs):
            pass

        def get(self, filepath):
            return path.read_bytes()

    monkeypatch.setitem(backends.backends, 'petrel', FakePetrel)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    register_mmengine_loaders()
    with pytest.raises(CheckpointError, match='s3://bucket/evil.pth.*safe'):
        CheckpointLoader.load_checkpoint('s3://bucket/evil.pth')
