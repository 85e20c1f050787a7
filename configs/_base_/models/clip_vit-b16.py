# CLIP ViT-B/16 fine-tuning baseline ("Baseline (CLIP-ViT-B/16)"), 224x224.
# Towers are open_clip-compatible; OpenAI weights need QuickGELU (set
# explicitly: open_clip's 'ViT-B-16' config defaults to nn.GELU, see
# mlfoundations/open_clip#771).  Weights: OpenAI's ViT-B/16, named as in
# open_clip's pretrained registry; fetched only when `init_weights()` runs
# (start of training) from the Hugging Face hub (OpenAI's URL as fallback)
# and SHA-256-checked whichever source served it (docs/pretrained_weights.md;
# SDTR_OFFLINE_DIR reads it from a folder).

# The data preprocessor defaults to RetrievalDataPreprocessor (CLIP mean/std,
# BGR->RGB); a top-level `data_preprocessor` of a dataset config is merged in
# by the Runner.
model = dict(
    type='CLIPRetriever',
    image_encoder=dict(
        type='CLIPVisionTransformer',
        arch='ViT-B-16',
        image_size=224,
        patch_size=16,
        act='quick_gelu'),
    text_encoder=dict(
        type='CLIPTextTransformer',
        arch='ViT-B-16',
        context_length=77,
        act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=77),
    # remote sensing: pid == image_id, so the 5 captions of an image in a
    # batch are all positives of it (InfoNCE's label_key='pid').  The loss
    # uses the model's logit scale (open_clip's learnable `logit_scale`,
    # loaded from the checkpoint).
    losses=dict(itc=dict(type='InfoNCELoss')),
    logit_scale=dict(init_temperature=0.07, learnable=True, max_scale=100.),
    pretrained=dict(checkpoint='openclip:ViT-B-16/openai'),
)
