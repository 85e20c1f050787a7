"""``python -m sdtr``: the ``sdtr`` command (:mod:`sdtr.cli`)."""
import sys

from sdtr.cli import main

sys.exit(main())
