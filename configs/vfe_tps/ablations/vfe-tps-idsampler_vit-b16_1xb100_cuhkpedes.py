# The full VFE-TPS (CMPM + TG-MIM + IS-GVFC) on identity-balanced batches
# instead of the paper's random ones: P = 25 identities x K = 4 instances
# = 100 (IRRA's identity sampler, num_instance 4).  IS-GVFC's C = 20 sampled
# rows then have a same-identity partner about 48 % of the time
# (1 - C(96,19)/C(99,19); random batches: ~0.1 %, logged as
# isgvfc_pos_frac), but an epoch is data-dependent and shorter (CUHK-PEDES:
# 11,003 identities give about 30 % fewer iterations than 681 random
# batches) and CMPM sees 4 positives per row.  Not a paper row: an sdtr
# ablation of the sampler (docs/methods/vfe_tps.md#5-is-gvfc).  The
# sampler's batch_size must equal the loader's.
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='IdentityBalancedSampler',
                 batch_size=100, num_instances=4))
