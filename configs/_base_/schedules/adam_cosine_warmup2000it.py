# EKLSR §4.2 fine-tuning schedule (CLIP baseline and EKLSR, RSITR and
# TIReID): lr 1e-5, batch 128, linear warm-up of 2,000 iterations, then cosine
# annealing to 0 over the rest of the run, per iteration.  One scheduler
# (WarmupAnnealingLR): the cosine starts where the warm-up ends and ends with
# train_cfg.max_epochs (10 for RSITR, 50 for TIReID: set by each config).
# What EKLSR does not state comes from IRRA's solver, which EKLSR cites for
# the CLIP transfer (anosorae/IRRA solver/build.py, lr_scheduler.py): Adam
# (eps 1e-3, weight decay 4e-5), warm-up from 0.1x, every bias at 2x lr
# without weight decay, the randomly initialised layers (KLSF fusion, KLR
# heads) at 5x lr.  Warm-up on small datasets: 2,000 iterations exceed a
# whole RSITMD run (1,670 iterations at batch 128), so the warm-up is capped
# at 60 % of the run (RSICD keeps the paper's 2,000 of its 3,830).  Reasons
# and the switches: docs/reproduction.md.
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
            'image_neck': dict(lr_mult=5.0),
            'text_neck': dict(lr_mult=5.0),
            'klr_head': dict(lr_mult=5.0),
        }),
)

param_scheduler = dict(
    type='WarmupAnnealingLR',
    warmup_iters=2000,
    max_warmup_ratio=0.6,
    warmup_start_factor=0.1,
    anneal='cosine',
    eta_min=0.0,
    by_epoch=True,
    convert_to_iter_based=True)

train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
# lr above is for a total batch of 128 (tools/train.py --auto-scale-lr
# scales it linearly with the real total batch)
auto_scale_lr = dict(base_batch_size=128, enable=False)
