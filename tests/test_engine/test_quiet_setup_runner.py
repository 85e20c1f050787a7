"""QuietSetupRunner: a few set-up lines by default, mmengine's full set-up
log with log_level='DEBUG' (tools/train.py --verbose)."""
import glob
import os.path as osp
from pathlib import Path

from mmengine.config import Config

from sdtr.engine.runner import QuietSetupRunner
from sdtr.utils import register_all_modules
from test_tools.conftest import write_tiny_config


def _setup_log(tmp_path, name, **cfg_options):
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(write_tiny_config(
        tmp_path / f'{name}.py',
        'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'))
    cfg.work_dir = str(tmp_path / name)
    cfg.merge_from_dict(cfg_options)
    runner = QuietSetupRunner.from_cfg(cfg)
    # the optimizer is built at the start of train(): its parameter-wise
    # options are logged then
    runner.build_optim_wrapper(runner.optim_wrapper)
    logs = glob.glob(osp.join(cfg.work_dir, '*', '*.log'))
    assert len(logs) == 1, logs
    return runner, Path(logs[0]).read_text()


def test_quiet_by_default(tmp_path):
    runner, log = _setup_log(tmp_path, 'quiet')
    lines = log.splitlines()
    assert len(lines) <= 5, log
    assert 'PyTorch' in lines[0] and 'MMEngine' in lines[0]
    assert 'seed 42' in lines[1]
    config = osp.join(runner.work_dir, 'quiet.py')
    assert f'Config: {config}' in log and osp.isfile(config)
    for noise in ('System environment', 'Hooks will be executed',
                  'paramwise_options', 'train_dataloader = dict('):
        assert noise not in log


def test_debug_log_level_gives_mmengine_full_log(tmp_path):
    _, log = _setup_log(tmp_path, 'verbose', log_level='DEBUG')
    for full in ('System environment', 'Hooks will be executed',
                 'paramwise_options', 'train_dataloader = dict('):
        assert full in log
    assert len(log.splitlines()) > 200


def test_resume_auto_without_checkpoints_starts_from_load_from(tmp_path):
    """resume='auto' (tools/train.py --resume) on a work_dir without
    checkpoints starts the run as configured: load_from is loaded as initial
    weights (not resumed), and the log says so; only incomplete checkpoints
    are an error naming the work_dir."""
    import pytest
    import torch
    from mmengine.model import BaseModel

    from sdtr.checkpoint.resume import ResumeError

    class Linear(BaseModel):

        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(2, 2)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return self.fc(inputs)

    init = tmp_path / 'init.pth'
    weights = Linear().state_dict()
    torch.save(dict(state_dict=weights), init)

    def runner(name):
        return QuietSetupRunner(
            model=Linear(), work_dir=str(tmp_path / name), load_from=str(init),
            resume='auto', default_scope='sdtr',
            experiment_name=f'auto-{name}')

    fresh = runner('fresh')
    fresh.load_or_resume()
    assert fresh._resume is False
    for key, value in weights.items():
        assert torch.equal(fresh.model.state_dict()[key], value)
    log = Path(glob.glob(osp.join(fresh.work_dir, '*', '*.log'))[0])
    log = log.read_text()
    assert f'resume: {fresh.work_dir} holds no checkpoint, training starts ' \
        f'from load_from={init}' in log

    (tmp_path / 'broken').mkdir()
    (tmp_path / 'broken' / 'epoch_3.pth').write_bytes(b'cut short')
    with pytest.raises(ResumeError, match='broken holds checkpoints but none'):
        runner('broken').load_or_resume()


def test_torch_num_threads_is_applied_and_logged(tmp_path):
    import torch
    before = torch.get_num_threads()
    try:
        _, log = _setup_log(tmp_path, 'threads',
                            env_cfg=dict(torch_num_threads=1))
        assert torch.get_num_threads() == 1
        assert 'torch threads: 1 (env_cfg.torch_num_threads)' in log
        torch.set_num_threads(2)
        _setup_log(tmp_path, 'threads2', env_cfg=dict(torch_num_threads=2))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_bad_torch_num_threads_is_refused(tmp_path):
    import pytest

    from sdtr.utils import SdtrError
    with pytest.raises(SdtrError, match='torch_num_threads'):
        _setup_log(tmp_path, 'bad', env_cfg=dict(torch_num_threads='auto'))
