"""Every nested key a run reads is checked before anything is built
(``sdtr.utils.config_check``): a misspelt key in any section is refused by
tools/train.py, tools/test.py and print_config.py with its path, the class
that reads it and the keys it accepts."""
import copy
import importlib.util
from pathlib import Path

import pytest
from mmengine.config import Config

from sdtr.utils import ConfigError, check_config, register_all_modules
from sdtr.utils.config_check import accepted_keys, nested_key_errors

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'


@pytest.fixture(scope='module')
def base():
    register_all_modules(init_default_scope=False)
    return Config.fromfile(str(QUICKSTART))


def _with(base, path, key, value=1):
    """A copy of ``base`` with ``key`` added under ``path`` (dots; an int
    part indexes a list)."""
    cfg = copy.deepcopy(base)
    node = cfg
    for part in path.split('.'):
        node = node[int(part)] if part.isdigit() else node[part]
    node[key] = value
    return cfg


# (section path, misspelt key, the owner named, a key it accepts)
CASES = [
    ('auto_scale_lr', 'base_batchsize', 'auto_scale_lr', 'base_batch_size'),
    ('env_cfg', 'cudnn_benchmrk', 'env_cfg', 'cudnn_benchmark'),
    ('env_cfg.mp_cfg', 'mp_start_methd', 'env_cfg.mp_cfg',
     'mp_start_method'),
    ('load_cfg', 'strikt', 'QuietSetupRunner (load_cfg)', 'strict'),
    ('randomness', 'sed', 'Runner.set_randomness', 'seed'),
    # a typo that mmengine would only meet at the first save
    ('default_hooks.checkpoint', 'intrval', 'AtomicCheckpointHook',
     'interval'),
    ('default_hooks.logger', 'interval_', 'LoggerHook', 'interval'),
    ('optim_wrapper', 'clipgrad', 'OptimWrapper', 'clip_grad'),
    ('optim_wrapper.optimizer', 'weightdecay', 'AdamW', 'weight_decay'),
    ('optim_wrapper.paramwise_cfg', 'norm_decaymult',
     'the optimizer wrapper constructor', 'norm_decay_mult'),
    ('train_cfg', 'max_epoch', 'EpochBasedTrainLoop', 'max_epochs'),
    ('val_cfg', 'fp61', 'RetrievalValLoop', 'fp16'),
    ('test_cfg', 'fp61', 'RetrievalTestLoop', 'fp16'),
    ('train_dataloader', 'num_worker',
     'the dataloader (torch DataLoader + mmengine)', 'num_workers'),
    ('train_dataloader.sampler', 'shufle', 'SeededSampler', 'shuffle'),
    ('test_dataloader.dataset.pipeline.1', 'scal', 'Resize', 'scale'),
    ('model', 'logitscale', 'CLIPRetriever', 'logit_scale'),
    ('model.image_encoder', 'patchsize', 'CLIPVisionTransformer',
     'patch_size'),
    ('model.tokenizer', 'context_lenght', 'CLIPTokenizer',
     'context_length'),
    ('model.losses.itc', 'local_los', 'InfoNCELoss', 'local_loss'),
]


@pytest.mark.parametrize('path,key,owner,accepted', CASES,
                         ids=[f'{c[0]}.{c[1]}' for c in CASES])
def test_misspelt_nested_key_is_refused(base, path, key, owner, accepted):
    assert nested_key_errors(base) == []
    cfg = _with(base, path, key)
    with pytest.raises(ConfigError) as err:
        check_config(cfg, 'x.py')
    msg = str(err.value)
    line = [m for m in msg.splitlines() if f'{key}: unknown key' in m]
    assert len(line) == 1, msg
    where = '.'.join(f'[{p}]' if p.isdigit() else p
                     for p in path.split('.')).replace('.[', '[')
    assert line[0].strip().startswith(f'{where}.{key}: unknown key')
    assert f"(did you mean '{accepted}'?)" in line[0]
    assert f'{owner} accepts' in line[0] and accepted in line[0]


def test_datasets_and_the_datasets_they_wrap(base):
    """A dataset's keys (through its **kwargs to mmengine's BaseDataset),
    and those of the datasets a wrapper holds."""
    cfg = copy.deepcopy(base)
    member = dict(type='KarpathyCaptionDataset', ann_file='a.json',
                  splt='val')
    cfg.val_dataloader.dataset = dict(type='RetrievalConcatDataset',
                                      datasets=[member], test_mode=True,
                                      lazy_init=True, serialize_dat=False)
    errors = nested_key_errors(cfg)
    assert len(errors) == 2, errors
    assert errors[0].startswith('val_dataloader.dataset.serialize_dat: '
                                "unknown key (did you mean 'serialize_data'")
    assert errors[1].startswith('val_dataloader.dataset.datasets[0].splt: '
                                "unknown key (did you mean 'split'?); "
                                'KarpathyCaptionDataset accepts')


def test_lists_of_components_are_checked(base):
    cfg = copy.deepcopy(base)
    cfg.custom_hooks = [dict(type='EMAHook', momentm=0.1)]
    cfg.param_scheduler = [dict(type='LinearLR', start_factr=0.1),
                           dict(type='CosineAnnealingLR', eta_min=0.0)]
    errors = nested_key_errors(cfg)
    assert any(e.startswith('custom_hooks[0].momentm: unknown key') and
               'EMAHook accepts' in e for e in errors), errors
    assert any(e.startswith('param_scheduler[0].start_factr') and
               "'start_factor'" in e for e in errors), errors
    assert len(errors) == 2
    cfg.custom_hooks = [dict(type='NoSuchHook')]
    assert nested_key_errors(cfg)[0].startswith(
        "custom_hooks[0].type: 'NoSuchHook' is not registered")


def test_loss_loop_keys_and_builder_keys_are_accepted(base):
    """Keys a builder reads besides the class (the loss loop's per-loss
    keys, a scheduler's convert_to_iter_based, a loop's by_epoch) pass."""
    cfg = copy.deepcopy(base)
    cfg.model.losses.itc.update(label_key='image_id', separate_scale=True)
    assert nested_key_errors(cfg) == []
    cfg.model.losses.itc.update(temperatur=0.1)
    assert len(nested_key_errors(cfg)) == 1


def test_kwargs_are_followed_to_where_they_go():
    """**kwargs passed on to the parent class: the accepted keys are the
    union along the MRO, up to a signature without **kwargs (object takes
    none); a function with **kwargs takes anything."""
    from sdtr.engine.hooks import AtomicCheckpointHook
    keys = accepted_keys(AtomicCheckpointHook)
    assert {'interval', 'save_best', 'max_keep_ckpts'} <= keys

    def anything(a, **kwargs):
        pass

    assert accepted_keys(anything) is None


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/test.py',
                                  'tools/misc/print_config.py'])
def test_tools_refuse_before_building(tool, tmp_path):
    """The three tools refuse a typo under default_hooks.checkpoint before
    a runner exists (today mmengine meets it after a full epoch)."""
    spec = importlib.util.spec_from_file_location('tool', REPO / tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = [str(QUICKSTART)]
    if tool.endswith('test.py'):
        ckpt = tmp_path / 'x.pth'
        ckpt.write_bytes(b'')
        argv.append(str(ckpt))
    argv += ['--cfg-options', 'default_hooks.checkpoint.intrval=1']
    if not tool.endswith('print_config.py'):
        argv += ['--work-dir', str(tmp_path)]
    with pytest.raises(ConfigError, match=r'default_hooks.checkpoint.intrval:'
                       r" unknown key \(did you mean 'interval'\?\)"):
        module.main(argv)
