"""Command-line handling of tools/train.py (no training)."""
import importlib.util

import pytest
import torch
from mmengine.config import Config

from .conftest import REPO


def _load_train_module():
    spec = importlib.util.spec_from_file_location('sdtr_train_tool',
                                                  REPO / 'tools' / 'train.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


train = _load_train_module()
CFG = str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py')


def _merged(*argv):
    args = train.parse_args([CFG, *argv])
    return train.merge_args(Config.fromfile(CFG), args)


def test_defaults_and_work_dir():
    cfg = _merged()
    assert cfg.work_dir.endswith('clip_tiny_1xb32_synthetic-rs')
    assert cfg.resume is False and cfg.load_from is None
    assert _merged('--work-dir', '/tmp/x').work_dir == '/tmp/x'


def test_resume_modes(tmp_path):
    cfg = _merged('--resume')
    assert cfg.resume is True and cfg.load_from is None
    ckpt = tmp_path / 'epoch_1.pth'
    ckpt.write_bytes(b'')
    cfg = _merged('--resume', str(ckpt))
    assert cfg.resume is True and cfg.load_from == str(ckpt)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _merged('--resume', str(tmp_path / 'missing.pth'))


def test_no_validate_and_cfg_options():
    cfg = _merged('--no-validate', '--cfg-options',
                  'train_dataloader.batch_size=4')
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.default_hooks.checkpoint.save_best is None
    assert cfg.train_dataloader.batch_size == 4


@pytest.mark.skipif(torch.cuda.is_available(), reason='CPU-only behaviour')
def test_amp_on_cpu_is_a_clear_error():
    with pytest.raises(SystemExit, match='--amp needs a CUDA device'):
        _merged('--amp')
