"""Print the fully merged config (after _base_ inheritance and overrides).

Example::

    python tools/misc/print_config.py configs/clip/clip_vit-b16_1xb128_rsicd-galr.py
    python tools/misc/print_config.py CONFIG \
        --cfg-options train_cfg.max_epochs=20 optim_wrapper.optimizer.lr=2e-5

Keys that would change nothing (``--cfg-options max_epochs=20``, a child
config's ``lr = ...``) are refused with the setting to use instead
(``sdtr.utils.config_check``).  ``tools/analysis_tools/lr_schedule.py`` shows
the learning rate the merged config trains with.
"""
import argparse

from mmengine.config import DictAction

from sdtr.utils import load_config, register_all_modules


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Print the whole config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--save', help='also write the merged config here')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options)
    print(cfg.pretty_text)
    if args.save:
        cfg.dump(args.save)


if __name__ == '__main__':
    main()
