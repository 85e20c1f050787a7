# PIR-ITR optimiser and schedule as released
# (docs/methods/pir.md#11-pir-itr-settings; jaychempan/PIR optim.py,
# scheduler.py, configs/Retrieval_rsitmd.yaml): AdamW betas (0.9, 0.98), eps
# 1e-8, weight decay 0.01 except biases and normalisation layers (and the
# learnable temperatures), lr 6e-5; linear warm-up from 0 over the first
# 10 % of the iterations, then linear decay to 0 at the end of the run, per
# iteration; 50 epochs; global batch 256 (2 GPUs x 128).  The released
# `lr_mult: 2` has no effect (no parameter group uses it), so it is not
# reproduced.
optim_wrapper = dict(
    type='OptimWrapper',
    # one parameter group per distinct (lr, weight decay), fused/foreach
    # Adam kernels (sdtr/engine/optimizers; docs/training.md#speed)
    constructor='MergedGroupsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=6e-5, betas=(0.9, 0.98), eps=1e-8,
                   weight_decay=0.01),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0,
        custom_keys={'logit_scale': dict(decay_mult=0.0)}),
)

param_scheduler = dict(
    type='WarmupAnnealingLR',
    warmup_ratio=0.1,
    warmup_start_factor=0.0,
    anneal='linear',
    eta_min=0.0,
    by_epoch=True,
    convert_to_iter_based=True)

train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')

# lr above is for a global batch of 256 (`tools/train.py --auto-scale-lr`
# scales it linearly with the real global batch).
auto_scale_lr = dict(base_batch_size=256, enable=False)
