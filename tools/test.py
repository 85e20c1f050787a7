"""Evaluate a trained retrieval model on the test split of its config.

Examples::

    python tools/test.py CONFIG CHECKPOINT --out metrics.json
    python tools/test.py CONFIG https://host/x.pth --out metrics.json
    # per-query rankings (top-k gallery items, scores, rank of the truth)
    python tools/test.py CONFIG CHECKPOINT --dump-rankings rankings.json
    python tools/test.py CONFIG CHECKPOINT --out rankings.json --out-item pred

The checkpoint (a path or an ``http(s)://`` URL, downloaded once into
torch.hub's cache) is read by :mod:`sdtr.checkpoint` (nothing in it runs; a
checkpoint sdtr wrote is checked against its digest) and must match the
model: a missing, unexpected or wrongly shaped key stops with the list of
them (``--partial-load`` evaluates a partial match and reports the
coverage).
"""
import argparse
import json
import os
import os.path as osp
import sys

# light imports only: `--help` must not wait for torch or mmengine
from sdtr.cli import DictAction, run_command


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (evaluate) a retrieval model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint',
                        help='checkpoint file or http(s):// URL')
    parser.add_argument('--work-dir',
                        help='the directory to save the evaluation logs')
    parser.add_argument(
        '--out', help='write the metrics as flat JSON here (with '
        '--out-item pred: the per-query rankings)')
    parser.add_argument(
        '--out-item', choices=['metrics', 'pred'], default='metrics',
        help='what --out receives, as in mmpretrain: "metrics" (default) or '
        '"pred" (the per-query rankings of --dump-rankings)')
    parser.add_argument(
        '--dump-rankings', metavar='FILE',
        help='write every query\'s top-k gallery items (ids, paths or '
        'captions, scores) and the rank of its ground truth as JSON')
    parser.add_argument('--dump-topk', type=int, default=10,
                        help='gallery items per query in the rankings (10)')
    parser.add_argument('--amp', action='store_true',
                        help='evaluate under autocast (fp16/bf16)')
    parser.add_argument(
        '--partial-load', action='store_true',
        help='evaluate a checkpoint that matches the model only partly '
        '(load_cfg.strict=False; the coverage is logged). By default any '
        'mismatch is an error')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument(
        '--verbose', action='store_true',
        help="log_level='DEBUG': print mmengine's full set-up log (whole "
        'environment, merged config, hook order)')
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.out_item == 'pred':
        if not args.out:
            parser.error('--out-item pred needs --out FILE')
        if args.dump_rankings and args.dump_rankings != args.out:
            parser.error('--out-item pred writes the rankings to --out; do '
                         'not also give another --dump-rankings file')
        args.dump_rankings = args.out
    return args


def add_ranking_dump(cfg, out_file: str, topk: int) -> None:
    """Append :class:`RetrievalRankingDump` to the test evaluator; person
    search (``PersonSearchMetric``) ranks by identity, RSITR by image."""
    evaluator = cfg.get('test_evaluator')
    if evaluator is None:
        raise ValueError('--dump-rankings: the config has no test_evaluator')
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        metrics = list(evaluator['metrics'])  # dict(type='Evaluator', ...)
    elif isinstance(evaluator, (list, tuple)):
        metrics = list(evaluator)
    else:
        metrics = [evaluator]
    types = [str(m.get('type', '')) for m in metrics]
    if not any(t.endswith(('RSITRRecall', 'PersonSearchMetric'))
               for t in types):
        raise ValueError(
            f'--dump-rankings needs an image-text retrieval test evaluator '
            f'(RSITRRecall or PersonSearchMetric), the config has {types}')
    relevance = 'identity' if any(
        t.endswith('PersonSearchMetric') for t in types) else 'image'
    metrics.append(dict(type='RetrievalRankingDump', out_file=out_file,
                        topk=topk, relevance=relevance))
    cfg.test_evaluator = metrics


def main(argv=None):
    args = parse_args(argv)
    from mmengine.dist import get_rank

    from sdtr.engine.runner import build_runner
    from sdtr.utils import load_config, register_all_modules
    from sdtr.checkpoint import is_url
    from sdtr.utils.setup_env import prepare_default_hooks, setup_distributed
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not is_url(args.checkpoint) and not osp.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint {args.checkpoint!r} not found (expected a local '
            'file or an http(s):// URL)')
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.partial_load:
        cfg.load_cfg = dict(cfg.get('load_cfg') or {}, strict=False)
    if args.amp:
        cfg.test_cfg = dict(cfg.get('test_cfg') or {}, fp16=True)
    if args.dump_rankings:
        add_ranking_dump(cfg, args.dump_rankings, args.dump_topk)
    if args.verbose:
        cfg.log_level = 'DEBUG'
    prepare_default_hooks(cfg)
    setup_distributed(cfg, args.launcher)

    metrics = build_runner(cfg).test()
    if get_rank() == 0:
        if args.dump_rankings:
            print(f'rankings written to {args.dump_rankings}')
        if args.out and args.out_item == 'metrics':
            flat = {k: float(v) if hasattr(v, '__float__') else v
                    for k, v in metrics.items()}
            out_dir = osp.dirname(osp.abspath(args.out))
            os.makedirs(out_dir, exist_ok=True)
            with open(args.out, 'w') as f:
                json.dump(flat, f, indent=2, sort_keys=True)
            print(f'metrics written to {args.out}')
    return metrics


if __name__ == '__main__':
    sys.exit(run_command(main))
