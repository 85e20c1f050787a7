# Tiny EKLSR (random init) on the embedded synthetic remote-sensing captions,
# CPU in minutes:
#   python tools/train.py configs/eklsr/eklsr_tiny_1xb32_synthetic-rs.py
# Same data, towers, schedule, batch and seed as the CLIP baseline
# configs/quickstart/clip_tiny_1xb32_synthetic-rs.py (a test checks they
# stay identical), so the two are a same-budget comparison.
_base_ = [
    '../_base_/datasets/synthetic_rs.py',
    '../_base_/models/eklsr_tiny.py',
    '../_base_/schedules/tiny_adamw_cosine_12e_synthetic-rs.py',
]
