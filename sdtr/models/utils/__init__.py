from .clip_checkpoint import (CheckpointMismatchError, download_checkpoint,
                              load_clip_state_dict, load_state_dict_strict,
                              resize_text_pos_embed, resize_vision_pos_embed,
                              split_clip_state_dict)
from .distributed import (gather_no_grad, gather_with_grad,
                          get_rank_and_world_size, is_distributed)

__all__ = [
    'gather_with_grad', 'gather_no_grad', 'is_distributed',
    'get_rank_and_world_size', 'load_clip_state_dict',
    'split_clip_state_dict', 'load_state_dict_strict',
    'resize_vision_pos_embed', 'resize_text_pos_embed',
    'download_checkpoint', 'CheckpointMismatchError'
]
from .patch_mask_generator import PatchMaskGenerator  # noqa: E402

__all__ += ['PatchMaskGenerator']
