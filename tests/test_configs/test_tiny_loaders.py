"""The config is the run: for every tiny config, the loaders a training run
builds (through tools/train.py's config path, after the default hooks'
``before_train``) hold exactly the objects the merged config that
tools/misc/print_config.py prints describes: the pipeline transforms (the
caption tokenizer included), the sampler and its seed, the worker init
function and the collate function.  No hook rewrites them."""
import importlib.util
from functools import partial
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.dataset import worker_init_fn as default_worker_init_fn

from sdtr.engine.hooks.preemption_hook import shielded_worker_init
from sdtr.registry import HOOKS, TOKENIZERS

REPO = Path(__file__).resolve().parents[2]
TINY = sorted(p.relative_to(REPO).as_posix()
              for p in (REPO / 'configs').rglob('*tiny*.py')
              if '_base_' not in p.parts)
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _tool(path):
    spec = importlib.util.spec_from_file_location(Path(path).stem,
                                                  REPO / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _type_name(t) -> str:
    return str(t).split('.')[-1]


def _check(loader, shown: dict, seed: int, name: str) -> None:
    """``loader`` against the printed ``shown`` loader config."""
    assert loader.batch_size == shown['batch_size'], name
    assert loader.num_workers == shown.get('num_workers', 0), name
    assert loader.generator is None, name  # nobody set a private one
    # the collate function the config names
    collate = shown.get('collate_fn', dict(type='pseudo_collate'))['type']
    assert isinstance(loader.collate_fn, partial), name
    assert loader.collate_fn.func.__name__ == collate, name
    # mmengine's worker init (the config declares none); the runner starts
    # workers with the preemption shield after it, nothing else
    init = loader.worker_init_fn
    assert isinstance(init, partial), name
    if loader.num_workers:
        assert init.func is shielded_worker_init, (name, init)
        init = init.keywords['base_init_fn']
    assert init.func is default_worker_init_fn, (name, init)
    sampler = shown.get('sampler')
    if sampler is None:  # an iterable dataset splits itself
        assert isinstance(loader.dataset, torch.utils.data.IterableDataset)
    else:
        built = loader.sampler
        assert type(built).__name__ == _type_name(sampler['type']), name
        assert getattr(built, 'shuffle', True) == sampler.get(
            'shuffle', True), name
        assert built.seed == (sampler['seed'] if 'seed' in sampler else
                              built.seed) and isinstance(built.seed, int)
        if hasattr(built, 'epoch'):
            assert type(built).set_epoch is getattr(
                type(built), 'set_epoch'), name
            assert 'set_epoch' not in vars(built), name  # not replaced
    # the pipeline: the printed transforms, in order, with the printed
    # tokenizer
    dataset = loader.dataset
    assert '__getitems__' not in vars(dataset), name  # not patched
    steps = shown['dataset'].get('pipeline')
    if steps is None:
        return
    transforms = dataset.pipeline.transforms
    assert [type(t).__name__ for t in transforms] == [
        _type_name(s['type']) for s in steps], name
    for t, s in zip(transforms, steps):
        if _type_name(s['type']) == 'TokenizeCaption':
            assert isinstance(s['tokenizer'], dict), (name, s)
            assert repr(t.tokenizer) == repr(TOKENIZERS.build(
                s['tokenizer'])), name


def _options(config: str, tmp_path) -> list:
    """--cfg-options that point a config at data made here (the zero-shot
    config reads scene folders made by ``sdtr-make-synthetic scenes``) and
    drop a ``load_from`` that names the checkpoint of an earlier run."""
    options = []
    if Config.fromfile(config).get('load_from'):
        options.append('load_from=None')
    if 'zeroshot' in config:
        from sdtr.datasets import make_synthetic_scene_folders
        root = make_synthetic_scene_folders(
            out_dir=str(tmp_path / 'scenes'), train_per_class=1,
            test_per_class=2, img_size=32, num_scenes=4)
        options.append(f'test_dataloader.dataset.data_root={root}')
    if 'shards' in config:  # written by tools/dataset_converters/make_shards
        shards = str(tmp_path / 'shards')
        _tool('tools/dataset_converters/make_shards.py').main(
            ['--synthetic', 'rs', '--synthetic-num-train', '16', '--out',
             shards, '--maxcount', '20'])
        options.append(f'train_dataloader.dataset.shards={shards}')
    return ['--cfg-options'] + options if options else []


@pytest.mark.parametrize('config', TINY)
def test_loaders_are_what_print_config_shows(config, tmp_path, capsys):
    assert len(TINY) >= 7
    options = _options(config, tmp_path)
    printed = tmp_path / 'printed.py'
    _tool('tools/misc/print_config.py').main([config, '--save',
                                              str(printed)] + options)
    capsys.readouterr()
    shown = Config.fromfile(str(printed)).to_dict()

    # what tools/train.py runs
    train = _tool('tools/train.py')
    from sdtr.utils import (bind_model_tokenizer, check_cfg_options,
                            check_config)
    from sdtr.utils.setup_env import prepare_default_hooks
    args = train.parse_args([config, '--work-dir', str(tmp_path / 'w')] +
                            options)
    cfg = Config.fromfile(config)
    check_cfg_options(args.cfg_options, cfg)
    cfg = train.merge_args(cfg, args)
    bind_model_tokenizer(cfg)
    check_config(cfg, config)
    prepare_default_hooks(cfg)
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type='sdtr.StopAtFirstStepForTest')]
    from sdtr.engine.runner import QuietSetupRunner
    runner = QuietSetupRunner.from_cfg(cfg)
    if shown.get('train_dataloader'):
        # a real run: every hook's before_run / before_train /
        # before_train_epoch and the first batch, stopped before the step
        with pytest.raises(_Stop):
            runner.train()
    loaders = {'train_dataloader': lambda: runner.train_loop.dataloader,
               'val_dataloader': lambda: runner.val_loop.dataloader,
               'test_dataloader': lambda: runner.test_loop.dataloader}
    built = {k: loaders[k]() for k in LOADERS if shown.get(k)}
    assert built
    for key, loader in built.items():
        _check(loader, shown[key], runner.seed, f'{config}: {key}')


class _Stop(Exception):
    pass


@HOOKS.register_module(name='StopAtFirstStepForTest', force=True)
class _StopAtFirstStep(Hook):
    priority = 'LOWEST'

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        raise _Stop
