# Fig. 7/8 comparison: triplet-loss calibration (batch-hard triplet, margin
# 0.3, on L2-normalised global visual features) instead of IS-GVFC; CMPM +
# TG-MIM unchanged.  Batch-hard mining needs several images per identity in
# a batch, which random batches almost never hold: this row trains on the
# identity-balanced batches of vfe-tps-idsampler_* (25 identities x 4
# instances = 100).  The paper names no sampler for it; the other Fig. 7
# rows (IS-GVFC, ID loss) keep the paper's random batches.
_base_ = ['./vfe-tps-idsampler_vit-b16_1xb100_cuhkpedes.py']

model = dict(
    losses=dict(
        isgvfc=None,
        triplet=dict(type='IdentityTripletLoss', margin=0.3)))
