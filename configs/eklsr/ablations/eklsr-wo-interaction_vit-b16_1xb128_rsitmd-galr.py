# EKLSR ablation on RSITMD: Table 5 row 4 ("ours (w/o interaction)": full
# model, but the KLR heads
# predict from the masked features alone, without the paired global feature).
# Table 5 row 5 / Table 6 rows 2 and 5 ("ours") are
# ../eklsr_vit-b16_1xb128_rsitmd-galr.py itself (Table 6 row 2 = Table 5 row 1).
_base_ = ['../eklsr_vit-b16_1xb128_rsitmd-galr.py']

model = dict(
    text_klr_head=dict(with_interaction=False),
    image_klr_head=dict(with_interaction=False),
)
