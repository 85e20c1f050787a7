# Fig. 7/8 comparison: triplet-loss calibration (batch-hard triplet, margin
# 0.3, on L2-normalised global visual features) instead of IS-GVFC; CMPM +
# TG-MIM unchanged.  Batch-hard mining needs several images per identity in
# a batch: the identity-balanced sampler (25 identities x 4 instances = 100)
# of the base config, which every Fig. 7 row (IS-GVFC, ID loss, triplet)
# shares, so the comparison is even.
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(
    losses=dict(
        isgvfc=None,
        triplet=dict(type='IdentityTripletLoss', margin=0.3)))
