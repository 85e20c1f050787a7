"""Print the fully merged config (after _base_ inheritance and overrides).

Example::

    python tools/misc/print_config.py configs/clip/clip_vit-b16_1xb128_rsicd.py
"""
import argparse

from mmengine.config import Config, DictAction

from sdtr.utils import register_all_modules


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
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    print(cfg.pretty_text)
    if args.save:
        cfg.dump(args.save)


if __name__ == '__main__':
    main()
