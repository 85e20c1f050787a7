# EKLSR (full model: KLSF + Text KLR + Image KLR) on RSTPReid, EKLSR Table 3:
# CLIP ViT-B/16 (OpenAI weights, 384x128 crops), alpha = 0.55, beta = 0.70,
# tau = gamma = 0.2, lambda = eta = 0.1; EKLSR §4.2 schedule: lr 1e-5,
# batch 128, cosine after 2000 warm-up steps, 50 epochs.
_base_ = [
    '../_base_/datasets/rstpreid.py',
    '../_base_/models/eklsr_vit-b16_person.py',
    '../_base_/schedules/adam_cosine_warmup2000it.py',
]

train_dataloader = dict(batch_size=128)
train_cfg = dict(max_epochs=50)
auto_scale_lr = dict(base_batch_size=128)
# select on mR = mean of R@1/5/10, the number EKLSR's tables headline (§4.2.1)
default_hooks = dict(checkpoint=dict(save_best='person/mR', rule='greater'))
