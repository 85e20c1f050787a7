# CLIP ViT-B/32 (OpenAI weights, QuickGELU, 224 px) with the contrastive
# loss on the learnable logit scale: PIR's Table II/III CLIP rows (zero-shot
# CLIP, CLIP-FT, CLIP-baseline) and PIR-CLIP stage 1 ("we first pre-train on
# RS5M dataset using CLIP with contrastive loss", PIR §IV-C3).  Weights
# named as in open_clip's pretrained registry, fetched in init_weights only
# (docs/pretrained_weights.md).
model = dict(
    type='CLIPRetriever',
    image_encoder=dict(type='CLIPVisionTransformer', arch='ViT-B-32',
                       image_size=224, patch_size=32, act='quick_gelu'),
    text_encoder=dict(type='CLIPTextTransformer', arch='ViT-B-32',
                      context_length=77, act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=77),
    losses=dict(itc=dict(type='InfoNCELoss')),
    logit_scale=dict(init_temperature=0.07, learnable=True, max_scale=100.),
    pretrained=dict(checkpoint='openclip:ViT-B-32/openai'),
)
