"""Train a retrieval model from a config.

Examples::

    python tools/train.py configs/quickstart/clip_tiny_1xb32_synthetic-rs.py
    python tools/train.py CONFIG --resume            # resume the latest run
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    python tools/train.py CONFIG --cfg-options load_from=init.pth --partial-load
    torchrun --nproc_per_node 8 tools/train.py CONFIG --launcher pytorch

A restarted process (``torchrun --max-restarts``: TORCHELASTIC_RESTART_COUNT
> 0; a requeued Slurm job: SLURM_RESTART_COUNT > 0) resumes the newest
checkpoint of its work_dir when there is one, whatever ``--resume`` says.
Stopped by SIGTERM/SIGUSR1 (``PreemptionHook``), training saves a
checkpoint and exits with code 128 + signal (143, 138).

``--cfg-options`` are applied first and the other flags after them, so a
flag wins over a config value; with ``--no-validate`` the val overrides of
``--cfg-options`` (``val_dataloader.*``, ``val_cfg.*``, ``val_evaluator.*``)
are ignored with a warning.
"""
import argparse
import os
import os.path as osp
import sys
import warnings

# light imports only: `--help` must not wait for torch or mmengine
from sdtr.cli import DictAction, run_command


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a retrieval model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or (no path, or "auto") '
        'from the newest complete checkpoint of the work_dir; a work_dir '
        'without checkpoints starts as configured (load_from or scratch), '
        'one with only incomplete checkpoints is an error')
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
#: set (> 0) in restarted processes: torchrun's elastic restarts, requeued
#: Slurm jobs
RESTART_VARIABLES = ('TORCHELASTIC_RESTART_COUNT', 'SLURM_RESTART_COUNT')


def _restart_variable() -> str:
    """The variable of :data:`RESTART_VARIABLES` saying that this process
    is a restart, or ''."""
    for name in RESTART_VARIABLES:
        if os.environ.get(name, '0').strip() not in ('', '0'):
            return name
    return ''


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
    from sdtr.utils.setup_env import merge_cfg_options
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

    from sdtr.checkpoint.resume import POINTER, run_checkpoints
    resume, restart = args.resume, _restart_variable()
    if restart and resume != 'auto' and (
            run_checkpoints(cfg.work_dir)
            or osp.exists(osp.join(cfg.work_dir, POINTER))):
        from mmengine.logging import print_log
        print_log(f'{restart}={os.environ[restart]}: this process is a '
                  'restart, it resumes the newest checkpoint of '
                  f'{cfg.work_dir}', 'current')
        resume = 'auto'
    if resume == 'auto':
        # the newest complete checkpoint of the work_dir; without one the
        # run starts as configured (load_from or scratch): QuietSetupRunner
        cfg.resume = 'auto'
    elif resume is not None:
        from sdtr.checkpoint import is_url
        if not is_url(resume) and not osp.isfile(resume):
            raise FileNotFoundError(
                f'--resume {resume}: checkpoint file not found')
        cfg.resume = True
        cfg.load_from = resume

    if args.verbose:
        cfg.log_level = 'DEBUG'
    return cfg


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config

    from sdtr.engine.runner import build_runner
    from sdtr.utils import (bind_model_tokenizer, check_cfg_options,
                            check_config, register_all_modules)
    from sdtr.utils.renamed_configs import resolve_config_path
    from sdtr.utils.setup_env import (add_tensorboard_if_available,
                                      prepare_default_hooks,
                                      setup_distributed)
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
    runner = build_runner(cfg)
    runner.train()
    from sdtr.engine.hooks import stop_exit_code
    code = stop_exit_code(runner)
    if code:
        raise SystemExit(code)


if __name__ == '__main__':
    sys.exit(run_command(main))
