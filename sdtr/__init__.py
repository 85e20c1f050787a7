"""sdtr: a model zoo for specific-domain image-text retrieval."""
from .utils.compat import register_checkpoint_loaders
from .version import __version__, version_info

register_checkpoint_loaders()

__all__ = ['__version__', 'version_info']
