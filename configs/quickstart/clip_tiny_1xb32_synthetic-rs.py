# Quickstart: a tiny CLIP (random init) trained on the embedded synthetic
# remote-sensing captions, on CPU in a few minutes.
#   python tools/train.py configs/quickstart/clip_tiny_1xb32_synthetic-rs.py
_base_ = [
    '../_base_/datasets/synthetic_rs.py',
    '../_base_/models/clip_tiny.py',
    '../_base_/schedules/tiny_adamw_cosine_12e_synthetic-rs.py',
]
