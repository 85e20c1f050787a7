# CLIP ViT-B/16 for text-based person search (IRRA setting, upstream_facts
# §4.1): 384x128 person crops, patch = stride = 16 -> a 24x8 grid (192
# patches + class token); the 14x14 position embedding of the 224 checkpoint
# is interpolated to 24x8 at load time (bicubic + antialias as open_clip;
# IRRA uses interpolation='bilinear', antialias=False).  QuickGELU (OpenAI
# weights), text length 77.  Baseline loss: IRRA's ITC, InfoNCE with the
# fixed scale 1/0.02 = 50 and identity (pid) positives.
__openai_vit_b16 = (
    'https://openaipublic.azureedge.net/clip/models/'
    '5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/'
    'ViT-B-16.pt')

# The data preprocessor defaults to RetrievalDataPreprocessor (CLIP mean/std,
# BGR->RGB); a top-level `data_preprocessor` of a dataset config is merged in
# by the Runner.
model = dict(
    type='CLIPRetriever',
    image_encoder=dict(
        type='CLIPVisionTransformer',
        arch='ViT-B-16',
        image_size=(384, 128),
        patch_size=16,
        act='quick_gelu'),
    text_encoder=dict(
        type='CLIPTextTransformer',
        arch='ViT-B-16',
        context_length=77,
        act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=77),
    losses=dict(itc=dict(type='InfoNCELoss', temperature=0.02,
                         learnable=False)),
    label_key='pid',
    pretrained=dict(
        checkpoint=__openai_vit_b16,
        check_hash=True,
        interpolation='bicubic',
        antialias=True),
)
