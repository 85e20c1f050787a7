from .config_check import (ConfigError, check_cfg_options, check_config,
                           load_config)
from .setup_env import register_all_modules

__all__ = ['register_all_modules', 'ConfigError',
           'check_config', 'check_cfg_options', 'load_config']
