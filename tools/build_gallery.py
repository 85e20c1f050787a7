"""Embed an image folder, a dataset split or captions into a search index.

Sharded, resumable (run the same command again after an interruption) and
multi-GPU with torchrun; see ``python tools/build_gallery.py --help`` and
:mod:`sdtr.tools.build_gallery`.

Example::

    python tools/build_gallery.py CONFIG CKPT --split test --out gallery_idx
"""
import sys

from sdtr.cli import run_command
from sdtr.tools.build_gallery import main

if __name__ == '__main__':
    sys.exit(run_command(main))
