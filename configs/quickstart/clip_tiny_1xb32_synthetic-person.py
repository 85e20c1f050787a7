# Quickstart for text-based person search: a tiny CLIP (random init) on the
# embedded synthetic pedestrians (96x32 crops, 2 captions per image),
# evaluated with R@K, mAP and mINP.
#   python tools/train.py configs/quickstart/clip_tiny_1xb32_synthetic-person.py
_base_ = [
    '../_base_/datasets/synthetic_person.py',
    '../_base_/models/clip_tiny_person.py',
    '../_base_/schedules/tiny_adamw_cosine_12e_synthetic-person.py',
]
