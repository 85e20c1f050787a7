"""sdtr: a model zoo for specific-domain image-text retrieval."""
import warnings

# mmcv-lite (required by mmpretrain) warns on every import of
# mmcv.cnn.bricks.transformer that MultiScaleDeformableAttention needs the
# full mmcv.  sdtr uses no mmcv op, so the warning is noise on every
# command; this filters exactly that message (registered before mmpretrain
# is first imported through sdtr) and nothing else.
warnings.filterwarnings(
    'ignore',
    message=r'Fail to import ``MultiScaleDeformableAttention`` from '
    r'``mmcv\.ops\.multi_scale_deform_attn``',
    category=UserWarning)
# The train dataloaders of the configs set pin_memory=True (GPUs); on a
# CPU-only machine torch warns at every loader start that it has nothing to
# pin, and pins nothing.  Exactly that message is filtered.
warnings.filterwarnings(
    'ignore',
    message=r"'pin_memory' argument is set as true but no accelerator is "
    r'found',
    category=UserWarning)


def _check_opencv() -> None:
    """Import cv2 (mmengine needs it) and explain the usual failures."""
    try:
        import cv2  # noqa: F401
    except ImportError as err:
        msg = str(err)
        if 'libGL' in msg or 'libgthread' in msg:
            hint = ('the GUI build of OpenCV (opencv-python) is installed; '
                    'it needs libGL, which this machine lacks')
        else:
            hint = 'OpenCV is missing or its files are broken'
        raise ImportError(
            f'sdtr cannot import cv2 ({msg}): {hint}. sdtr needs '
            'opencv-python-headless only; reinstall as the README says: '
            'pip uninstall -y opencv-python opencv-python-headless && pip '
            'install -c requirements/constraints.txt -e ".[tests]" '
            './requirements/opencv-python-headless-shim') from err


_check_opencv()

from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info']
