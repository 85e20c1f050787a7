"""Evaluate a trained retrieval model on the test split of its config.

Example::

    python tools/test.py CONFIG CHECKPOINT --out metrics.json
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction
from mmengine.dist import get_rank
from mmengine.runner import Runner

from sdtr.utils import load_config, register_all_modules
from sdtr.utils.setup_env import setup_distributed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a retrieval model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir',
                        help='the directory to save the evaluation logs')
    parser.add_argument('--out', help='write the metrics as flat JSON here')
    parser.add_argument('--amp', action='store_true',
                        help='evaluate under autocast (fp16/bf16)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} not found')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    setup_distributed(cfg, args.launcher)

    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if args.out and get_rank() == 0:
        flat = {k: float(v) if hasattr(v, '__float__') else v
                for k, v in metrics.items()}
        out_dir = osp.dirname(osp.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(flat, f, indent=2, sort_keys=True)
        print(f'metrics written to {args.out}')
    return metrics


if __name__ == '__main__':
    main()
