# Quickstart for text-based person search: a tiny CLIP (random init) on the
# embedded synthetic pedestrians (96x32 crops, 2 captions per image),
# evaluated with R@K, mAP and mINP.
#   python tools/train.py configs/quickstart/clip_tiny_1xb32_synthetic-person.py
_base_ = [
    '../_base_/datasets/synthetic_person.py',
    '../_base_/models/clip_tiny_person.py',
    '../_base_/schedules/adamw_cosine_warmup.py',
    '../_base_/default_runtime.py',
]

max_epochs = 12
warmup_iters = 100
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=3)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=3, max_keep_ckpts=1, save_best='person/R@1',
                    rule='greater'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
auto_scale_lr = dict(base_batch_size=32)
