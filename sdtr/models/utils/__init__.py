# the loading API lives in sdtr.checkpoint (re-exported for old imports)
from sdtr.checkpoint import (CheckpointMismatchError, LoadReport,
                             PretrainedMixin, compare_state_dicts,
                             load_weights, read_state_dict)
from .clip_checkpoint import (resize_text_pos_embed, resize_vision_pos_embed,
                              split_clip_state_dict)
from .distributed import (gather_no_grad, gather_with_grad,
                          get_rank_and_world_size, is_distributed)

__all__ = [
    'gather_with_grad', 'gather_no_grad', 'is_distributed',
    'get_rank_and_world_size', 'read_state_dict', 'load_weights',
    'compare_state_dicts', 'LoadReport', 'PretrainedMixin',
    'CheckpointMismatchError', 'split_clip_state_dict',
    'resize_vision_pos_embed', 'resize_text_pos_embed'
]
from .patch_mask_generator import PatchMaskGenerator  # noqa: E402

__all__ += ['PatchMaskGenerator']
