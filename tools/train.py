"""Train a retrieval model from a config.

Examples::

    python tools/train.py configs/quickstart/clip_tiny_1xb32_synthetic-rs.py
    python tools/train.py CONFIG --resume            # resume the latest run
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    python tools/train.py CONFIG --cfg-options load_from=init.pth --partial-load
    torchrun --nproc_per_node 8 tools/train.py CONFIG --launcher pytorch

``--cfg-options`` are applied first and the other flags after them, so a
flag wins over a config value; with ``--no-validate`` the val overrides of
``--cfg-options`` (``val_dataloader.*``, ``val_cfg.*``, ``val_evaluator.*``)
are ignored with a warning.
"""
import argparse
import os
import os.path as osp
import warnings

from mmengine.config import Config, DictAction

from sdtr.utils import (bind_model_tokenizer, check_cfg_options,
                        check_config, register_all_modules)
from sdtr.utils.renamed_configs import resolve_config_path
from sdtr.utils.setup_env import (add_tensorboard_if_available,
                                  prepare_default_hooks,
                                  merge_cfg_options, setup_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a retrieval model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint in the work_dir when no path (or "auto") is given')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision training (sdtr AmpOptimWrapper: bf16 where '
        'supported, else fp16 with a dynamic loss scale; a dtype the config '
        'sets is kept; bf16 autocast on CPU)')
    parser.add_argument(
        '--compile', action='store_true',
        help='compile the training step with torch.compile (compile=True '
        'in the config; works with --amp)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument(
        '--partial-load', action='store_true',
        help='load a load_from checkpoint that does not match the model '
        'partially and report the coverage (load_cfg.strict=False); by '
        'default a mismatch is an error. Never applies to --resume')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr linearly with the total batch')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.batch_size=8 model.logit_scale.init_temperature'
        '=0.02)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--verbose', action='store_true',
        help="log_level='DEBUG': print mmengine's full set-up log (whole "
        'environment, merged config, hook order, parameter-wise options)')
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


VAL_KEYS = ('val_cfg', 'val_dataloader', 'val_evaluator')


def merge_args(cfg, args):
    """Apply the command line to the config: ``--cfg-options`` first, then
    the flags (which win)."""
    options = dict(args.cfg_options or {})
    if args.no_validate:
        ignored = sorted(k for k in options
                         if k.split('.', 1)[0] in VAL_KEYS)
        if ignored:
            warnings.warn(f'--no-validate: ignoring --cfg-options {ignored} '
                          '(there is no validation)')
        options = {k: v for k, v in options.items() if k not in ignored}
    merge_cfg_options(cfg, options)

    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        from sdtr.engine.optimizers import enable_amp
        enable_amp(cfg)
    if args.compile:
        cfg.compile = True

    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
        ckpt = cfg.get('default_hooks', {}).get('checkpoint')
        if ckpt is not None:
            ckpt['save_best'] = None

    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=128))
        cfg.auto_scale_lr.enable = True

    if args.partial_load:
        cfg.load_cfg = dict(cfg.get('load_cfg') or {}, strict=False)

    if args.resume == 'auto':
        if cfg.get('load_from') and 'load_from' in (args.cfg_options or {}):
            warnings.warn('--resume without a path resumes the latest '
                          'checkpoint of the work_dir; load_from='
                          f'{cfg.load_from} is ignored (use --resume PATH)')
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        from sdtr.utils.compat import is_url
        if not is_url(args.resume) and not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume {args.resume}: checkpoint file not found')
        cfg.resume = True
        cfg.load_from = args.resume

    if args.verbose:
        cfg.log_level = 'DEBUG'
    return cfg


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    args.config = resolve_config_path(args.config)  # old names still work
    cfg = Config.fromfile(args.config)
    check_cfg_options(args.cfg_options, cfg)
    cfg = merge_args(cfg, args)
    bind_model_tokenizer(cfg)
    check_config(cfg, args.config)
    prepare_default_hooks(cfg)
    setup_distributed(cfg, args.launcher)
    add_tensorboard_if_available(cfg)

    if 'runner_type' in cfg:
        from sdtr.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    else:
        # mmengine's Runner with a short set-up log (--verbose: the full one)
        from sdtr.engine.runner import QuietSetupRunner
        runner = QuietSetupRunner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
