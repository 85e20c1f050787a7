# EKLSR ablation on CUHK-PEDES: Table 5 row 0 (baseline: CLIP fine-tuning,
# no KLSF, no KLR; the same as configs/clip/ but built from
# EKLSRRetriever with every part left out).
# Table 5 row 5 / Table 6 rows 2 and 5 ("ours") are
# ../eklsr_vit-b16_1xb128_cuhkpedes.py itself (Table 6 row 2 = Table 5 row 1).
_base_ = ['../eklsr_vit-b16_1xb128_cuhkpedes.py']

model = dict(
    image_selector=None,
    text_selector=None,
    image_neck=None,
    text_neck=None,
    text_klr_selector=None,
    text_klr_head=None,
    image_klr_selector=None,
    image_klr_head=None,
    target_generator=None,
)
