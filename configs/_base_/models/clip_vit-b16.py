# CLIP ViT-B/16 fine-tuning baseline ("Baseline (CLIP-ViT-B/16)"), 224x224.
# Towers are open_clip-compatible; OpenAI weights need QuickGELU (set
# explicitly: open_clip's 'ViT-B-16' config defaults to nn.GELU, see
# mlfoundations/open_clip#771).  The OpenAI checkpoint is a TorchScript
# archive, downloaded into torch.hub's cache only when `init_weights()` runs
# (i.e. at the start of training); the SHA-256 in its URL is checked.
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
    # batch are all positives of it.
    losses=dict(itc=dict(type='InfoNCELoss', temperature=0.07,
                         learnable=True)),
    label_key='pid',
    pretrained=dict(checkpoint=__openai_vit_b16, check_hash=True),
)
