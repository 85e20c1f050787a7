from .clip_modified_resnet import CLIPModifiedResNet
from .clip_text_transformer import CLIPTextTransformer
from .clip_vision_transformer import CLIPVisionTransformer

__all__ = [
    'CLIPVisionTransformer', 'CLIPModifiedResNet', 'CLIPTextTransformer'
]
