"""Print (and optionally plot) the learning rate a config trains with.

Builds the model on the meta device (no weights, no data, seconds), the
optimiser wrapper and the parameter schedulers exactly as the runner does,
and steps them over the whole run (``sdtr.engine.schedulers.simulate_lr``).
The iterations per epoch come from ``--iters-per-epoch`` or from the number
of training samples (captions) and GPUs, with the config's batch and
``drop_last``: ``floor(ceil(samples / gpus) / batch)``.

Examples::

    python tools/analysis_tools/lr_schedule.py \\
        configs/eklsr/eklsr_vit-b16_1xb128_rsitmd-galr.py --train-samples 21435
    python tools/analysis_tools/lr_schedule.py \\
        configs/vfe_tps/vfe-tps_vit-b16_1xb100_cuhkpedes.py \\
        --train-samples 68126 --probe mim_head.cross_attn.in_proj_weight
    python tools/analysis_tools/lr_schedule.py CONFIG --iters-per-epoch 134 \\
        --cfg-options train_cfg.max_epochs=20 optim_wrapper.optimizer.lr=2e-5
"""
import argparse
import math

from mmengine.config import Config, DictAction

from sdtr.engine.schedulers import build_model_without_weights, simulate_lr
from sdtr.utils import register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument('--iters-per-epoch', type=int,
                      help='len(train_dataloader) of the run')
    size.add_argument('--train-samples', type=int,
                      help='training samples (captions) of the split')
    parser.add_argument('--gpus', type=int, default=None,
                        help='GPUs of the run (default: the NxbB of the '
                        'config name, else 1)')
    parser.add_argument('--probe', nargs='+', default=None,
                        help='parameter names to report (default: the '
                        'first trainable one)')
    parser.add_argument('--plot', help='write a plot of the lr here (png)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def gpus_from_name(path: str) -> int:
    """8 for ``..._8xb64_...``; 1 when the name has no ``NxbB`` part."""
    import re
    m = re.search(r'_(\d+)xb\d+', path)
    return int(m.group(1)) if m else 1


def iters_per_epoch(samples: int, gpus: int, batch: int,
                    drop_last: bool = True) -> int:
    """Length of one rank's train dataloader (mmengine DefaultSampler pads
    every rank to ``ceil(samples / gpus)`` samples)."""
    per_rank = math.ceil(samples / gpus)
    return per_rank // batch if drop_last else math.ceil(per_rank / batch)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    loader = cfg.train_dataloader
    gpus = args.gpus or gpus_from_name(args.config)
    iters = args.iters_per_epoch or iters_per_epoch(
        args.train_samples, gpus, loader.batch_size,
        loader.get('drop_last', False))
    model = build_model_without_weights(cfg.model)
    curves = simulate_lr(cfg, model, iters, probes=args.probe)
    epochs = cfg.train_cfg.max_epochs
    print(f'{args.config}: {epochs} epochs x {iters} iterations = '
          f'{epochs * iters} iterations, batch {gpus} x '
          f'{loader.batch_size}, {cfg.optim_wrapper.optimizer.type}')
    for name, lr in curves.items():
        peak = int(lr.argmax())
        print(f'  {name}: start {lr[0]:.4g}, peak {lr[peak]:.4g} at '
              f'iteration {peak} (epoch {peak / iters:.2f}), final '
              f'{lr[-1]:.4g}')
    if args.plot:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        for name, lr in curves.items():
            plt.plot(lr, label=name)
        plt.xlabel('iteration')
        plt.ylabel('lr')
        plt.legend()
        plt.savefig(args.plot, dpi=100)
        print(f'plot written to {args.plot}')


if __name__ == '__main__':
    main()
