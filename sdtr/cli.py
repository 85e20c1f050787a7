"""``sdtr``: one command for the sdtr tools (as ``mim`` is for OpenMMLab).

``sdtr COMMAND ARGS...`` runs the tool with ``ARGS`` exactly as its script
would; ``sdtr COMMAND --help`` shows the tool's own options.

* ``search``, ``build-gallery``, ``serve``, ``list-models`` and
  ``reproduce`` live in the package (:mod:`sdtr.tools`, :mod:`sdtr.search`)
  and work from any install;
* ``train`` and ``test`` run ``main(argv)`` of the repository's
  ``tools/train.py`` / ``tools/test.py``, found in this order:
  ``$SDTR_TOOLS_DIR``, ``<sdtr package>/.mim/tools`` (the OpenMMLab
  ``.mim`` folder: copies in a wheel, links to the checkout in an editable
  install) and the checkout above the package (``<package>/../tools``).

``python -m sdtr ...`` is the same command, e.g. under torchrun.

The command is light: ``sdtr --help``, ``sdtr COMMAND --help`` and ``sdtr
list-models`` import neither torch nor mmengine (the tools import them after
parsing their arguments; :class:`DictAction` defers mmengine's).

Errors: :func:`run_command` runs every command (and the scripts in
``tools/``).  An error is printed as one line, ``sdtr COMMAND: error:
MESSAGE``, with exit status 1: a :class:`~sdtr.utils.errors.SdtrError` (a
refusal: bad input, described by its message) as its message, any other
exception with its type and where it was raised.  ``--debug`` anywhere on
the command line (or ``SDTR_DEBUG=1``) shows the full traceback instead.
``OSError`` (a missing or unreadable file) is printed like a refusal: its
message names the file.
"""
import argparse
import importlib
import importlib.util
import os
import os.path as osp
import sys
import traceback
from typing import Callable, List, Optional

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

Run `sdtr COMMAND --help` for the options of a command. Errors are printed
as one line; add --debug (or set SDTR_DEBUG=1) for the traceback.

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
             osp.join(osp.dirname(pkg), 'tools')]
    return dirs


def find_tool(name: str) -> str:
    """Path of ``tools/<name>.py`` (see :func:`tools_dirs`)."""
    for folder in tools_dirs():
        path = osp.join(folder, f'{name}.py')
        if osp.isfile(path):
            return osp.realpath(path)  # an editable install links .mim
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
    from sdtr.utils.model_index import get_model_info, list_models
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


class DictAction(argparse.Action):
    """mmengine's ``DictAction`` (``--cfg-options key=value ...``), imported
    when the option is used, so that ``--help`` needs no mmengine."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction as MMDictAction
        MMDictAction(self.option_strings, self.dest, nargs=self.nargs)(
            parser, namespace, values, option_string)


DEBUG_ENV = 'SDTR_DEBUG'


def describe_error(err: BaseException) -> str:
    """The one-line description of ``err`` that :func:`run_command`
    prints."""
    from sdtr.utils.errors import SdtrError, is_opencv_error, opencv_hint
    msg = str(err).strip()
    if isinstance(err, (SdtrError, OSError)) and msg:
        return msg  # a refusal, or a file that is missing / unreadable
    if is_opencv_error(err) and 'opencv-python-headless' not in msg:
        return opencv_hint(err)
    lines = [ln for ln in msg.splitlines() if ln.strip()]
    if len(lines) > 1 and 'Traceback' in msg:
        # re-raised from a DataLoader worker: its first and last line
        msg = f'{lines[0]} {lines[-1].strip()}'
    where = traceback.extract_tb(err.__traceback__)
    at = f'{where[-1].filename}:{where[-1].lineno}' if where else '?'
    return (f'{type(err).__name__}: {msg} (raised at {at}; --debug shows '
            'the traceback)')


def run_command(fn: Callable, argv: Optional[List[str]] = None,
                prog: Optional[str] = None) -> int:
    """Run ``fn(argv)`` as a command: the exit status, errors as one line.

    ``--debug`` is taken out of ``argv`` (default ``sys.argv[1:]``); with it,
    or with ``SDTR_DEBUG=1``, an error propagates with its traceback.

    Returns:
        int: ``fn``'s status (0 when it returns something else), 1 after an
        error, 130 after Ctrl-C.
    """
    # OpenMP threads (torch, MKL, faiss) sleep instead of spinning while
    # they wait for one another: spinning threads take the processors of
    # the threads they wait for on a machine shared with other jobs (a CPU
    # training step went from 0.2 s to 3 s next to one other process).  Set
    # here, before torch is imported; an explicit OMP_WAIT_POLICY wins.
    os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = '--debug' in argv or os.environ.get(DEBUG_ENV, '0') not in (
        '', '0')
    argv = [a for a in argv if a != '--debug']
    prog = prog or sys.argv[0]
    try:
        result = fn(argv)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f'{prog}: interrupted', file=sys.stderr)
        return 130
    except Exception as err:  # noqa: B902 - every error is reported
        if debug:
            raise
        print(f'{prog}: error: {describe_error(err)}', file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


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
        return run_command(COMMANDS[cmd], rest, prog=f'sdtr {cmd}')
    finally:
        sys.argv[0] = prog


if __name__ == '__main__':  # pragma: no cover
    sys.exit(main())
