# EKLSR ablation on RSITMD: Table 6 row 3 (full model, KLR masks chosen at
# random instead of by
# polynomial selection; KLSF stays polynomial).
# Table 5 row 5 / Table 6 rows 2 and 5 ("ours") are
# ../eklsr_vit-b16_1xb128_rsitmd-galr.py itself (Table 6 row 2 = Table 5 row 1).
_base_ = ['../eklsr_vit-b16_1xb128_rsitmd-galr.py']

model = dict(
    text_klr_selector=dict(mode='random'),
    image_klr_selector=dict(mode='random'),
)
