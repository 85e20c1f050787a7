# Tiny person-search variant of clip_tiny.py: 96x32 crops (3:1 like
# 384x128), patch 8 -> a 12x4 grid.  Loss: IRRA-style fixed-scale InfoNCE
# over identity positives (the model's scale fixed at 1/0.02 = 50).
_base_ = ['./clip_tiny.py']

model = dict(
    image_encoder=dict(image_size=(96, 32)),
    logit_scale=dict(init_temperature=0.02, learnable=False),
)
