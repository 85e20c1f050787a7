"""Command-line handling of tools/train.py (no training)."""
import importlib.util

import pytest
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
    assert cfg.resume == 'auto' and cfg.load_from is None
    ckpt = tmp_path / 'epoch_1.pth'
    ckpt.write_bytes(b'')
    cfg = _merged('--resume', str(ckpt))
    assert cfg.resume is True and cfg.load_from == str(ckpt)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        _merged('--resume', str(tmp_path / 'missing.pth'))


@pytest.mark.parametrize('variable', ['TORCHELASTIC_RESTART_COUNT',
                                      'SLURM_RESTART_COUNT'])
def test_restarted_process_resumes_when_the_work_dir_has_checkpoints(
        tmp_path, monkeypatch, variable):
    """torchrun --max-restarts / a requeued Slurm job: resume the newest
    checkpoint of the work_dir, whatever --resume says; with nothing to
    resume the command runs as given (load_from, --resume PATH)."""
    for name in ('TORCHELASTIC_RESTART_COUNT', 'SLURM_RESTART_COUNT'):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / 'work'
    init = tmp_path / 'init.pth'
    init.write_bytes(b'')
    argv = ('--work-dir', str(work), '--cfg-options', f'load_from={init}')
    monkeypatch.setenv(variable, '0')
    assert _merged(*argv).resume is False
    monkeypatch.setenv(variable, '1')
    cfg = _merged(*argv)  # nothing to resume yet: the run starts as given
    assert cfg.resume is False and cfg.load_from == str(init)
    assert _merged(*argv, '--resume', str(init)).load_from == str(init)
    work.mkdir()
    (work / 'epoch_2.pth').write_bytes(b'')
    for extra in ((), ('--resume', str(init))):
        cfg = _merged(*argv, *extra)
        # the runner resumes the newest complete checkpoint (load_from is
        # its fallback when there is none)
        assert cfg.resume == 'auto'


def test_no_validate_and_cfg_options():
    cfg = _merged('--no-validate', '--cfg-options',
                  'train_dataloader.batch_size=4')
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.default_hooks.checkpoint.save_best is None
    assert cfg.train_dataloader.batch_size == 4


def test_amp_and_compile_flags():
    """--amp: sdtr's AmpOptimWrapper (bf16 autocast on CPU too; dtype left
    to the wrapper unless the config sets one); --compile: the Runner's
    compile=True (tests/test_engine/test_amp_optim_wrapper.py trains with
    both)."""
    cfg = _merged('--amp', '--compile')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert 'dtype' not in cfg.optim_wrapper
    assert cfg.compile is True
    assert _merged().get('compile') in (None, False)
    cfg = _merged('--amp', '--cfg-options', 'optim_wrapper.dtype=float16')
    assert cfg.optim_wrapper.dtype == 'float16'


def test_no_validate_ignores_val_cfg_options():
    """--no-validate with a val override used to crash (TypeError: the val
    loader was already None when --cfg-options were merged)."""
    with pytest.warns(UserWarning, match='ignoring --cfg-options'):
        cfg = _merged('--no-validate', '--cfg-options',
                      'val_dataloader.batch_size=4',
                      'train_dataloader.batch_size=8')
    assert cfg.val_dataloader is None and cfg.val_cfg is None
    assert cfg.train_dataloader.batch_size == 8


def test_override_below_a_none_entry_is_named():
    with pytest.raises(TypeError, match=r'val_dataloader.batch_size: the '
                       r'config sets val_dataloader = None'):
        _merged('--cfg-options', 'val_dataloader=None',
                'val_dataloader.batch_size=4')


def test_flags_win_over_cfg_options():
    cfg = _merged('--work-dir', '/tmp/flag', '--cfg-options',
                  'work_dir=/tmp/option')
    assert cfg.work_dir == '/tmp/flag'


def test_partial_load_flag_and_default_strictness():
    assert _merged().load_cfg.strict is True
    cfg = _merged('--partial-load')
    assert cfg.load_cfg.strict is False and cfg.load_cfg.ignore_keys == []


def test_default_hooks_set_to_none_are_dropped():
    from sdtr.utils.setup_env import prepare_default_hooks
    cfg = _merged('--cfg-options', 'default_hooks.non_finite=None')
    prepare_default_hooks(cfg)
    assert 'non_finite' not in cfg.default_hooks
    assert cfg.default_hooks.reproducibility.type == 'ReproducibilityHook'
    # no hook loads checkpoints (the runner does): nothing is added
    bare = Config(dict(model=dict(type='X')))
    prepare_default_hooks(bare)
    assert bare.default_hooks == {}
