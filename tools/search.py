"""Search a gallery with a caption (text->image) or an image (image->text).

See ``python tools/search.py --help`` and :mod:`sdtr.tools.search`.

Example::

    python tools/search.py --config CONFIG --checkpoint CKPT \
        --gallery IMAGE_DIR_OR_INDEX --query "a caption" --out result.png
"""
import sys

from sdtr.cli import run_command
from sdtr.tools.search import check_out, is_correct, main, parse_args  # noqa

if __name__ == '__main__':
    sys.exit(run_command(main))
