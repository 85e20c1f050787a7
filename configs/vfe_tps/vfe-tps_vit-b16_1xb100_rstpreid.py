# VFE-TPS on RSTPReid (paper Table 3); settings as the CUHK-PEDES config.
_base_ = [
    '../_base_/datasets/rstpreid.py',
    '../_base_/models/vfe_tps_vit-b16_person.py',
    '../_base_/schedules/irra_adam_cosine_60e.py',
]

# IS-GVFC (eq. 4) needs same-identity images among its C = 20 sampled rows:
# batches of P = 25 identities x K = 4 instances (IRRA's identity sampler)
# give about 48 % of the rows a partner (random batches: ~0.1 %).  Logged as
# isgvfc_pos_frac.  The sampler's batch_size must equal the loader's.
train_dataloader = dict(
    batch_size=100,
    sampler=dict(_delete_=True, type='IdentityBalancedSampler',
                 batch_size=100, num_instances=4))
auto_scale_lr = dict(base_batch_size=100)
