"""Serve a search page and a JSON API (text -> images, image -> captions or
images).

See ``python tools/serve.py --help`` and :mod:`sdtr.tools.serve`.

Example::

    python tools/serve.py CONFIG CKPT --gallery gallery_idx   # 127.0.0.1:8000
"""
import sys

from sdtr.cli import run_command
from sdtr.tools.serve import main

if __name__ == '__main__':
    sys.exit(run_command(main))
