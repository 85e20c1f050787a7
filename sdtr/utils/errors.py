"""The base class of the errors sdtr raises for user mistakes.

A :class:`SdtrError` is a *refusal*: bad input (a missing file, an unknown
model name, a config key that acts on nothing, a stale search index, a
checkpoint of another model), described by its message, which names the
file or entry concerned and what was expected.  The ``sdtr`` command and the
scripts in ``tools/`` print such an error as one line,
``sdtr <command>: error: <message>``, and exit with status 1; ``--debug``
(or ``SDTR_DEBUG=1``) shows the traceback (:func:`sdtr.cli.run_command`).

Subclass it for a new kind of refusal; a subclass may also derive from the
built-in exception that fits (``class ModelZooError(SdtrError, KeyError)``),
so existing ``except`` clauses keep working.
"""


class SdtrError(Exception):
    """A user error whose message says what is wrong and what to do."""


#: the install command that fixes a GUI or broken OpenCV
OPENCV_FIX = ('pip uninstall -y opencv-python opencv-python-headless && pip '
              'install -c requirements/constraints.txt -e ".[tests]" '
              './requirements/opencv-python-headless-shim')


def opencv_hint(err: ImportError) -> str:
    """The message of an ``ImportError`` raised while importing cv2, with
    what is wrong and how to fix the install (mmengine, mmcv-lite and sdtr's
    image loading need OpenCV; only its headless build works without
    libGL)."""
    msg = str(err)
    if 'libGL' in msg or 'libgthread' in msg:
        hint = ('the GUI build of OpenCV (opencv-python) is installed; it '
                'needs libGL, which this machine lacks')
    else:
        hint = 'OpenCV is missing or its files are broken'
    return (f'sdtr cannot import cv2 ({msg}): {hint}. sdtr needs '
            f'opencv-python-headless only; reinstall as the README says: '
            f'{OPENCV_FIX}')


def is_opencv_error(err: BaseException) -> bool:
    """Whether ``err`` is a failed import of cv2 (or of a library it
    loads)."""
    if not isinstance(err, ImportError):
        return False
    name = getattr(err, 'name', None) or ''
    return name.split('.')[0] == 'cv2' or 'libGL' in str(err) or \
        'libgthread' in str(err)
