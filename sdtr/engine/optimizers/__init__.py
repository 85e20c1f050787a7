from .amp_optim_wrapper import AmpOptimWrapper, enable_amp, resolve_amp_dtype
from .merged_groups_constructor import (MergedGroupsOptimWrapperConstructor,
                                        merge_param_groups,
                                        multi_tensor_options)

__all__ = [
    'AmpOptimWrapper', 'MergedGroupsOptimWrapperConstructor', 'enable_amp',
    'merge_param_groups', 'multi_tensor_options', 'resolve_amp_dtype'
]
