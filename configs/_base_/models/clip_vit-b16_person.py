# CLIP ViT-B/16 for person search (docs/methods/irra_clip.md#2-clip-towers):
# the towers of clip_vit-b16.py on 384x128 person crops, patch = stride = 16
# -> a 24x8 grid (192 patches + class token); the 14x14 position embedding
# of the 224 checkpoint is interpolated to 24x8 at load time (bicubic +
# antialias as open_clip; IRRA uses interpolation='bilinear',
# antialias=False).  QuickGELU (OpenAI weights), text length 77.  Baseline
# loss: IRRA's ITC, InfoNCE with the fixed scale 1/0.02 = 50 and identity
# (pid) positives.  Weights: open_clip's 'openai' ViT-B-16 (see
# clip_vit-b16.py).
_base_ = ['./clip_vit-b16.py']

model = dict(
    image_encoder=dict(image_size=(384, 128)),
    # IRRA's fixed scale (not learned; the checkpoint's logit_scale is not
    # loaded into it)
    logit_scale=dict(init_temperature=0.02, learnable=False),
    pretrained=dict(
        checkpoint='openclip:ViT-B-16/openai',
        interpolation='bicubic',
        antialias=True),
)
