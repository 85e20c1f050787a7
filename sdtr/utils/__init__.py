from .compat import (checkpoint_safe_globals, load_checkpoint_file,
                     load_url_checkpoint, register_checkpoint_loaders,
                     safe_torch_load)
from .config_check import (ConfigError, bind_model_tokenizer,
                           check_cfg_options, check_config, load_config)
from .setup_env import register_all_modules

__all__ = ['register_checkpoint_loaders', 'safe_torch_load',
           'checkpoint_safe_globals', 'load_url_checkpoint',
           'load_checkpoint_file', 'register_all_modules', 'ConfigError',
           'check_config', 'check_cfg_options', 'load_config',
           'bind_model_tokenizer']
