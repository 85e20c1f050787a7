# Tiny VFE-TPS (CMPM + TG-MIM + IS-GVFC) on the embedded synthetic
# pedestrians, random init: trains on CPU in a few minutes and reports
# person/R@1, R@5, R@10, mAP, mINP.  Same data, towers, schedule and seed as
# configs/quickstart/clip_tiny_1xb32_synthetic-person.py and as the tiny
# baseline vfe_tps_tiny-baseline_1xb32_synthetic-person.py (CMPM only), so
# the three are comparable at the same budget.
#   python tools/train.py configs/vfe_tps/vfe_tps_tiny_1xb32_synthetic-person.py
_base_ = [
    '../_base_/datasets/synthetic_person.py',
    '../_base_/models/vfe_tps_tiny_person.py',
    '../_base_/schedules/tiny_adamw_cosine_12e_synthetic-person.py',
]
