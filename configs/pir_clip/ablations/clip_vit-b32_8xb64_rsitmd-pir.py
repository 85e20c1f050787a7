# Table III "CLIP-baseline" (PIR-CLIP without the soft-belief ViT and the
# affiliation loss): OpenAI CLIP ViT-B/32 fine-tuned on RSITMD with the
# contrastive loss only, same schedule as PIR-CLIP fine-tuning (its 45.35 mR
# equals Table II's CLIP-FT row, i.e. no RS5M stage).
_base_ = ['../pir-clip_vit-b32-rn50_8xb64_rsitmd-pir.py']

load_from = None
model = dict(
    _delete_=True,
    type='CLIPRetriever',
    image_encoder=dict(type='CLIPVisionTransformer', arch='ViT-B-32',
                       image_size=224, patch_size=32, act='quick_gelu'),
    text_encoder=dict(type='CLIPTextTransformer', arch='ViT-B-32',
                      context_length=77, act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=77),
    losses=dict(itc=dict(type='InfoNCELoss')),
    logit_scale=dict(init_temperature=0.07, learnable=True, max_scale=100.),
    pretrained=dict(checkpoint='openclip:ViT-B-32/openai'))
