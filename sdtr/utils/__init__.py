from .compat import (register_checkpoint_loaders, safe_torch_load,
                     checkpoint_safe_globals)
from .setup_env import register_all_modules

__all__ = ['register_checkpoint_loaders', 'safe_torch_load',
           'checkpoint_safe_globals', 'register_all_modules']
