# Tiny VFE-TPS (CMPM + TG-MIM + IS-GVFC) on the embedded synthetic
# pedestrians, random init: trains on CPU in a few minutes and reports
# person/R@1, R@5, R@10, mAP, mINP.  Same data, towers, schedule and seed as
# configs/quickstart/clip_tiny_1xb32_synthetic-person.py and as the tiny
# baseline vfe-tps-baseline_tiny_1xb32_synthetic-person.py (CMPM only), so
# the three are comparable at the same budget.  Like the full-size configs,
# batches are sampled by identity (8 identities x 4 = 32) so that IS-GVFC's
# 20 sampled rows share identities (isgvfc_pos_frac ~0.95; random batches of
# this data: ~0.25); the tiny baseline inherits the sampler.
#   python tools/train.py configs/vfe_tps/vfe-tps_tiny_1xb32_synthetic-person.py
_base_ = [
    '../_base_/datasets/synthetic_person.py',
    '../_base_/models/vfe_tps_tiny_person.py',
    '../_base_/schedules/tiny_adamw_cosine_12e_synthetic-person.py',
]

train_dataloader = dict(
    sampler=dict(_delete_=True, type='IdentityBalancedSampler',
                 batch_size=32, num_instances=4))
