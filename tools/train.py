"""Train a retrieval model from a config.

Examples::

    python tools/train.py configs/quickstart/clip_tiny_1xb32_synthetic-rs.py
    python tools/train.py CONFIG --resume            # resume the latest run
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    torchrun --nproc_per_node 8 tools/train.py CONFIG --launcher pytorch
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from sdtr.utils import (check_cfg_options, check_config,
                        register_all_modules)
from sdtr.utils.setup_env import add_tensorboard_if_available, \
    setup_distributed


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
        help='mixed precision training (bf16 where supported, else fp16)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr linearly with the total batch')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.batch_size=8 model.loss.temperature=0.02)')
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


def merge_args(cfg, args):
    """Apply the command line to the config."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit(
                '--amp needs a CUDA device: mmengine\'s AmpOptimWrapper has '
                'no CPU implementation. Train without --amp on CPU.')
        dtype = 'bfloat16' if (torch.cuda.is_available()
                               and torch.cuda.is_bf16_supported()) \
            else 'float16'
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('dtype', dtype)
        if dtype == 'float16':
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

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

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise FileNotFoundError(
                f'--resume {args.resume}: checkpoint file not found')
        cfg.resume = True
        cfg.load_from = args.resume

    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.verbose:
        cfg.log_level = 'DEBUG'
    return cfg


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    check_cfg_options(args.cfg_options, cfg)
    cfg = merge_args(cfg, args)
    check_config(cfg, args.config)
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
