# Fig. 7/8 comparison: ID-loss calibration (image-only identity classifier
# on the global visual feature, 11,003 CUHK-PEDES train identities) instead
# of IS-GVFC; CMPM + TG-MIM unchanged.  Same identity-balanced sampler as
# the IS-GVFC and triplet rows (inherited), so the Fig. 7 comparison is even.
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(
    losses=dict(
        isgvfc=None,
        visual_id=dict(type='VisualIDLoss', in_channels=512,
                       num_classes=11003)))
