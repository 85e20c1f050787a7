# EKLSR (ACM MM'24) on CLIP ViT-B/16 for text-based person search
# (CUHK-PEDES, ICFG-PEDES, RSTPReid): the model of eklsr_vit-b16.py with the
# person-search towers of clip_vit-b16_person.py and the EKLSR §4.2 TIReID
# settings: 384x128 crops (24x8 = 192 patches), KLSF alpha = 0.55 / beta =
# 0.70, KLR tau = 0.2 / gamma = 0.2, lambda = eta = 0.1.  The contrastive
# loss (eq. 9) is the baseline's InfoNCE with identity positives (fixed
# scale 50).  DALL-E tokenizes the crop resized to 192x64, i.e. a 24x8 code
# grid aligned with the patches (the conv encoder accepts non-square
# inputs).
# Defaults not given by the paper: see eklsr_vit-b16.py.
_base_ = ['./eklsr_vit-b16.py']

model = dict(
    # the person-search towers (as clip_vit-b16_person.py)
    image_encoder=dict(image_size=(384, 128)),
    logit_scale=dict(init_temperature=0.02, learnable=False),
    pretrained=dict(
        checkpoint='openclip:ViT-B-16/openai',
        interpolation='bicubic',
        antialias=True),
    # KLSF (eq. 3-8) and KLR (eq. 10-17) ratios for TIReID
    image_selector=dict(ratio=0.55),
    text_selector=dict(ratio=0.70),
    text_klr_selector=dict(ratio=0.2),
    image_klr_selector=dict(ratio=0.2),
)
