# EKLSR (full model: KLSF + Text KLR + Image KLR) on ICFG-PEDES, EKLSR Table 4:
# CLIP ViT-B/16 (OpenAI weights, 384x128 crops), alpha = 0.55, beta = 0.70,
# tau = gamma = 0.2, lambda = eta = 0.1; EKLSR §4.2 schedule: lr 1e-5,
# batch 128, cosine after 2000 warm-up steps, 50 epochs.
_base_ = [
    '../_base_/datasets/icfgpedes.py',
    '../_base_/models/eklsr_vit-b16_person.py',
    '../_base_/schedules/adam_cosine_warmup2000it.py',
]

train_dataloader = dict(batch_size=128)
train_cfg = dict(max_epochs=50)
auto_scale_lr = dict(base_batch_size=128)

# ICFG-PEDES has no val split: train without validation and keep the last
# checkpoint; the test split is only used by tools/test.py (never for model
# selection).
val_cfg = None
val_dataloader = None
val_evaluator = None
