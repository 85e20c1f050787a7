"""Reproduce a paper table: train and test its rows, compare with the paper.

See ``python tools/reproduce.py --help`` and :mod:`sdtr.tools.reproduce`
(``sdtr reproduce`` is the same command).

Example::

    python tools/reproduce.py --list
    python tools/reproduce.py pir:table2 --gpus 8 --dry-run
"""
import sys

from sdtr.tools.reproduce import main

if __name__ == '__main__':
    sys.exit(main())
