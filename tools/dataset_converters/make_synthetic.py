"""Generate the synthetic datasets (same as the ``sdtr-make-synthetic``
console command).

Examples::

    python tools/dataset_converters/make_synthetic.py all
    python tools/dataset_converters/make_synthetic.py rs --out-dir data/s
    python tools/dataset_converters/make_synthetic.py person \
        --num-train-ids 128
"""
import sys

from sdtr.datasets.synthetic.cli import main

if __name__ == '__main__':
    sys.exit(main())
