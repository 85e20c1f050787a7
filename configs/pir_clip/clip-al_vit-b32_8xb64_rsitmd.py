# Table III "+AL": plain CLIP ViT-B/32 image tower (no instruction branch,
# no soft belief) trained with contrastive + affiliation loss on RSITMD, from
# OpenAI ViT-B/32 weights (the stage-1 PIR-CLIP checkpoint has a different
# image tower).
_base_ = ['./pir-clip_vit-b32-rn50_8xb64_rsitmd.py']

load_from = None
model = dict(
    image_encoder=dict(_delete_=True, type='CLIPVisionTransformer',
                       arch='ViT-B-32', image_size=224, patch_size=32,
                       act='quick_gelu'),
    instruction_encoder=None,
    pretrained=dict(_delete_=True, checkpoint='openclip:ViT-B-32/openai'))
