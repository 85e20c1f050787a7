# Tiny EKLSR for the synthetic person-search quickstart: the towers of
# clip_tiny_person.py (96x32 crops, 12x4 patch grid, fixed-scale InfoNCE
# over identities) with the TIReID ratios of EKLSR §4.2 (alpha = 0.55,
# beta = 0.70, tau = gamma = 0.2, lambda = eta = 0.1) and the small random
# DALL-E tokenizer of eklsr_tiny.py (96x32 -> 12x4 codes).
_base_ = ['./eklsr_tiny.py']

model = dict(
    image_encoder=dict(image_size=(96, 32)),
    logit_scale=dict(init_temperature=0.02, learnable=False),
    image_selector=dict(ratio=0.55),
    text_selector=dict(ratio=0.70),
    text_klr_selector=dict(ratio=0.2),
    image_klr_selector=dict(ratio=0.2),
)
