"""``sdtr``: one command for the sdtr tools (as ``mim`` is for OpenMMLab).

``sdtr COMMAND ARGS...`` runs the tool with ``ARGS`` exactly as its script
would; ``sdtr COMMAND --help`` shows the tool's own options.

* ``search``, ``build-gallery``, ``serve``, ``list-models`` and
  ``reproduce`` live in the package (:mod:`sdtr.tools`, :mod:`sdtr.apis`) and work from any install;
* ``train`` and ``test`` run ``main(argv)`` of the repository's
  ``tools/train.py`` / ``tools/test.py``, found in this order:
  ``$SDTR_TOOLS_DIR``, ``<sdtr package>/.mim/tools`` (the OpenMMLab wheel
  layout), the checkout of an editable install (``<package>/../tools``),
  and ``<prefix>/share/sdtr/tools`` (where a wheel installs them).

``python -m sdtr ...`` is the same command, e.g. under torchrun.
"""
import importlib.util
import os
import os.path as osp
import sys
from typing import List, Optional

USAGE = """usage: sdtr COMMAND [ARGS...]

Commands:
  train          train a model from a config             (tools/train.py)
  test           evaluate a checkpoint on the test split (tools/test.py)
  search         search a gallery with a caption or an image
  build-gallery  embed images/captions into a search index (sharded,
                 resumable, multi-GPU with torchrun)
  serve          web page + JSON API for text->image / image->caption search
  list-models    the model zoo (names, configs, weights)
  reproduce      train + test every row of a paper table, compare with the
                 paper (markdown/CSV/plot; --list, --dry-run)

Run `sdtr COMMAND --help` for the options of a command.

Examples:
  sdtr list-models rsitmd
  sdtr train configs/quickstart/clip_tiny_1xb32_synthetic-rs.py
  sdtr test configs/quickstart/clip_tiny_1xb32_synthetic-rs.py \\
      work_dirs/clip_tiny_1xb32_synthetic-rs/epoch_12.pth
  sdtr build-gallery CONFIG CKPT --split test --out gallery_idx
  sdtr search --config CONFIG --checkpoint CKPT --gallery gallery_idx \\
      --query "many planes are parked next to a terminal" --out result.png
  sdtr serve CONFIG CKPT --gallery gallery_idx      # http://127.0.0.1:8000
  torchrun --nproc_per_node 8 -m sdtr train CONFIG --launcher pytorch
"""


def tools_dirs() -> List[str]:
    """Where ``train`` / ``test`` scripts are looked for, in order."""
    pkg = osp.dirname(osp.abspath(__file__))
    dirs = []
    if os.environ.get('SDTR_TOOLS_DIR'):
        dirs.append(os.environ['SDTR_TOOLS_DIR'])
    dirs += [osp.join(pkg, '.mim', 'tools'),
             osp.join(osp.dirname(pkg), 'tools'),
             osp.join(sys.prefix, 'share', 'sdtr', 'tools')]
    return dirs


def find_tool(name: str) -> str:
    """Path of ``tools/<name>.py`` (see :func:`tools_dirs`)."""
    for folder in tools_dirs():
        path = osp.join(folder, f'{name}.py')
        if osp.isfile(path):
            return path
    raise SystemExit(
        f'sdtr {name}: cannot find {name}.py; looked in ' +
        ', '.join(tools_dirs()) + '. Set SDTR_TOOLS_DIR to the tools/ '
        'folder of an sdtr checkout.')


def _script_main(name: str):
    path = find_tool(name)
    spec = importlib.util.spec_from_file_location(f'sdtr_tool_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def list_models_main(argv: Optional[List[str]] = None) -> int:
    """``sdtr list-models [PATTERN] [--task T] [--dataset D] [-v]``."""
    import argparse

    from sdtr.apis.model_zoo import get_model_info, list_models
    p = argparse.ArgumentParser(
        description='List the models of the sdtr zoo.',
        epilog='examples:\n  sdtr list-models\n  sdtr list-models rsitmd '
        '-v\n  sdtr list-models "pir*" --dataset RSICD',
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('pattern', nargs='?', help='wildcard or substring of the '
                   'name (case-insensitive)')
    p.add_argument('--task', help='e.g. "Image-Text Retrieval"')
    p.add_argument('--dataset', help='e.g. RSITMD')
    p.add_argument('-v', '--verbose', action='store_true',
                   help='also print the config and the weights')
    args = p.parse_args(argv)
    names = list_models(args.pattern, task=args.task, dataset=args.dataset)
    for name in names:
        if not args.verbose:
            print(name)
            continue
        info = get_model_info(name)
        print(f'{name}\n  config:  {osp.relpath(info.config)}\n  '
              f'weights: {info.weights or "not published"}')
    if not names:
        print('no model matches', file=sys.stderr)
        return 1
    return 0


def _package_main(module: str):
    def run(argv):
        return importlib.import_module(module).main(argv)
    return run


COMMANDS = {
    'train': lambda argv: _script_main('train')(argv),
    'test': lambda argv: _script_main('test')(argv),
    'search': _package_main('sdtr.tools.search'),
    'build-gallery': _package_main('sdtr.tools.build_gallery'),
    'serve': _package_main('sdtr.tools.serve'),
    'list-models': list_models_main,
    'reproduce': _package_main('sdtr.tools.reproduce'),
}


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ('-h', '--help', 'help'):
        print(USAGE)
        return 0
    if argv[0] in ('-V', '--version'):
        from sdtr.version import __version__
        print(f'sdtr {__version__}')
        return 0
    cmd, rest = argv[0], argv[1:]
    if cmd not in COMMANDS:
        close = [c for c in COMMANDS if c.startswith(cmd[:2])]
        print(f'sdtr: unknown command {cmd!r}' +
              (f' (did you mean {close[0]}?)' if close else '') +
              '\n\n' + USAGE, file=sys.stderr)
        return 2
    prog = sys.argv[0]
    sys.argv[0] = f'sdtr {cmd}'  # argparse names the command in its help
    try:
        result = COMMANDS[cmd](rest)
    finally:
        sys.argv[0] = prog
    return result if isinstance(result, int) else 0


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
