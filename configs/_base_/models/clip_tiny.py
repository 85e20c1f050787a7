# Tiny CLIP towers for the synthetic quickstart and CPU tests (random init,
# no checkpoint): 64x64 images, patch 8 (8x8 grid), width 128, 3 layers,
# 2 heads; text width 128, 3 layers, 2 heads, context 32 with the full CLIP
# BPE vocabulary (49408).  Embedding dimension 128.
# The data preprocessor defaults to RetrievalDataPreprocessor (CLIP mean/std,
# BGR->RGB); a top-level `data_preprocessor` of a dataset config is merged in
# by the Runner.
model = dict(
    type='CLIPRetriever',
    image_encoder=dict(
        type='CLIPVisionTransformer',
        arch=None,
        image_size=64,
        patch_size=8,
        width=128,
        layers=3,
        heads=2,
        embed_dim=128,
        act='quick_gelu'),
    text_encoder=dict(
        type='CLIPTextTransformer',
        arch=None,
        context_length=32,
        vocab_size=49408,
        width=128,
        heads=2,
        layers=3,
        embed_dim=128,
        act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=32),
    # InfoNCE over pid positives on the model's logit scale (open_clip's
    # learnable `logit_scale`, init 1/0.07, clamped at 100)
    losses=dict(itc=dict(type='InfoNCELoss')),
    logit_scale=dict(init_temperature=0.07, learnable=True, max_scale=100.),
)
