"""Models of sdtr: towers, tokenizers, losses, retrievers."""
from . import heads, necks, selectors  # noqa: F401
from . import target_generators  # noqa: F401
from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .retrievers import *  # noqa: F401,F403
from .tokenizers import *  # noqa: F401,F403
