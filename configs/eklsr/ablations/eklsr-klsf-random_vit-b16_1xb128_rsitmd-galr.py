# EKLSR ablation on RSITMD: Table 6 row 0 (KLSF only, random selection instead
# of polynomial).
# Table 5 row 5 / Table 6 rows 2 and 5 ("ours") are
# ../eklsr_vit-b16_1xb128_rsitmd-galr.py itself (Table 6 row 2 = Table 5 row 1).
_base_ = ['../eklsr_vit-b16_1xb128_rsitmd-galr.py']

model = dict(
    text_klr_selector=None,
    text_klr_head=None,
    image_klr_selector=None,
    image_klr_head=None,
    target_generator=None,
    # evaluated with its own rule: a random subset fixed by eval_seed
    # (eval_mode='auto' -> 'fixed'), not importance top-k
    image_selector=dict(mode='random', eval_mode='auto', eval_seed=0),
    text_selector=dict(mode='random', eval_mode='auto', eval_seed=0),
)
