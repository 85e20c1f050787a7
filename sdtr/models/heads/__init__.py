from .simmim_head import SimMIMHead  # noqa: E402
from .tgmim_head import TGMIMHead  # noqa: E402

__all__ = ['TGMIMHead', 'SimMIMHead']
from .text_klr_head import TextKLRHead  # noqa: E402
from .image_klr_head import ImageKLRHead  # noqa: E402

__all__ += ['TextKLRHead', 'ImageKLRHead']
from .mae_head import MAEHead  # noqa: E402

__all__ += ['MAEHead']
