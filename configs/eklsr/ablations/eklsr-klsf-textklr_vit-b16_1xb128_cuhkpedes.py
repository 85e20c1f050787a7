# EKLSR ablation on CUHK-PEDES: Table 5 row 2 (+KLSF +Text KLR).
# Table 5 row 5 / Table 6 rows 2 and 5 ("ours") are
# ../eklsr_vit-b16_1xb128_cuhkpedes.py itself (Table 6 row 2 = Table 5 row 1).
_base_ = ['../eklsr_vit-b16_1xb128_cuhkpedes.py']

model = dict(
    image_klr_selector=None,
    image_klr_head=None,
    target_generator=None,
)
