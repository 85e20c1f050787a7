"""sdtr: a model zoo for specific-domain image-text retrieval.

``import sdtr`` is light: it imports neither torch, mmengine nor OpenCV, so
that the ``sdtr`` command answers ``--help`` and ``list-models`` at once.
Components are registered by :func:`sdtr.utils.register_all_modules` (the
tools and :func:`sdtr.apis.get_model` call it), which also routes
mmengine's checkpoint loading through sdtr's restricted loader.
"""
import warnings

# mmcv-lite (required by mmpretrain) warns on every import of
# mmcv.cnn.bricks.transformer that MultiScaleDeformableAttention needs the
# full mmcv.  sdtr uses no mmcv op, so the warning is noise on every
# command; this filters exactly that message and nothing else.  Every sdtr
# module is imported after this package, so the filter is in place before
# mmpretrain/mmcv are first imported through sdtr.
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

from .version import __version__, version_info  # noqa: E402

__all__ = ['__version__', 'version_info']
