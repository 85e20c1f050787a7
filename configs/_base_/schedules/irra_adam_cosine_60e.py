# IRRA's person-search solver (docs/methods/irra_clip.md#8-schedule;
# anosorae/IRRA solver/build.py and lr_scheduler.py, used unchanged by
# VFE-TPS): Adam lr 1e-5 (eps 1e-3, weight decay 4e-5), 5 warm-up epochs
# linear from 0.1x, then cosine to 0 at the end of the run (60 epochs),
# stepped per epoch.  Learning-rate multipliers for the layers CLIP has no
# weights for: IRRA gives 5x to every parameter whose name contains "cross"
# (VFE-TPS's MIM cross-attention and its transformer: sdtr's
# mim_head.cross_attn / mim_head.transformer), to the classifier and the MLM
# head, and 2x without weight decay to every bias.  docs/reproduction.md
# lists the effective values.
optim_wrapper = dict(
    type='OptimWrapper',
    # one parameter group per distinct (lr, weight decay), fused/foreach
    # Adam kernels (sdtr/engine/optimizers; docs/training.md#speed)
    constructor='MergedGroupsOptimWrapperConstructor',
    optimizer=dict(type='Adam', lr=1e-5, betas=(0.9, 0.999), eps=1e-3,
                   weight_decay=4e-5),
    paramwise_cfg=dict(
        custom_keys={
            'bias': dict(lr_mult=2.0, decay_mult=0.0),
            'mim_head.cross_attn': dict(lr_mult=5.0),
            'mim_head.transformer': dict(lr_mult=5.0),
            'classifier': dict(lr_mult=5.0),
            'mlm_head': dict(lr_mult=5.0),
        }),
)

param_scheduler = dict(
    type='WarmupAnnealingLR',
    warmup_epochs=5,
    warmup_start_factor=0.1,
    anneal='cosine',
    eta_min=0.0,
    by_epoch=True)

train_cfg = dict(by_epoch=True, max_epochs=60, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
auto_scale_lr = dict(base_batch_size=64, enable=False)
