# VFE-TPS on CUHK-PEDES (paper Table 1 / Table 6 last row): CLIP ViT-B/16 +
# CLIP text transformer, CMPM + TG-MIM + IS-GVFC (eq. 10, weights 1).
# Paper §4.3: 384x128, random horizontal flip + random crop, text length 77,
# Adam lr 1e-5, 60 epochs, batch 100 (one GPU), C = 20, MCA with 8 heads.
# The learning-rate schedule is not given in the paper; we use the one of the
# IRRA code base VFE-TPS is built on (5 warm-up epochs from 0.1x, cosine,
# per epoch; the MIM cross-attention and transformer at 5x lr, biases at 2x
# without weight decay: configs/_base_/schedules/irra_adam_cosine_60e.py).
_base_ = [
    '../_base_/datasets/cuhkpedes.py',
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
