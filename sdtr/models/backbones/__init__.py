from .clip_modified_resnet import CLIPModifiedResNet
from .clip_text_transformer import CLIPTextTransformer
from .clip_vision_transformer import CLIPVisionTransformer

__all__ = [
    'CLIPVisionTransformer', 'CLIPModifiedResNet', 'CLIPTextTransformer'
]
from .pir_clip_vision_transformer import PIRCLIPVisionTransformer  # noqa: E402,E501
from .pir_instruction_encoder import PIRInstructionEncoder  # noqa: E402

__all__ += ['PIRCLIPVisionTransformer', 'PIRInstructionEncoder']
from .swin_transformer import SwinTransformerEncoder  # noqa: E402

__all__ += ['SwinTransformerEncoder']
from .bert_text_encoder import BertTextEncoder  # noqa: E402

__all__ += ['BertTextEncoder']
from .instruction_encoder import SceneInstructionEncoder  # noqa: E402,E501

__all__ += ['SceneInstructionEncoder']
from .vit_encoder import ViTEncoder  # noqa: E402

__all__ += ['ViTEncoder']
from .projected_tower import ProjectedTower  # noqa: E402

__all__ += ['ProjectedTower']
