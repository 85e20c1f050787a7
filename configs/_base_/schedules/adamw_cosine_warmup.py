# Generic CLIP fine-tuning schedule (the tiny CPU budgets build on it):
# AdamW, lr 1e-5, linear warm-up of 500 iterations from 0.01x, then cosine
# to 0 over the rest of the run (train_cfg.max_epochs), per iteration.
optim_wrapper = dict(
    type='OptimWrapper',
    # one parameter group per distinct (lr, weight decay), fused/foreach
    # Adam kernels (sdtr/engine/optimizers; docs/training.md#speed)
    constructor='MergedGroupsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-5, betas=(0.9, 0.98), eps=1e-6,
                   weight_decay=0.2),
    # no weight decay on biases, norms, embeddings and temperatures
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0,
        custom_keys={
            'logit_scale': dict(decay_mult=0.0),
            'positional_embedding': dict(decay_mult=0.0),
            'class_embedding': dict(decay_mult=0.0),
            'token_embedding': dict(decay_mult=0.0),
        }),
)

param_scheduler = dict(
    type='WarmupAnnealingLR',
    warmup_iters=500,
    warmup_start_factor=0.01,
    anneal='cosine',
    eta_min=0.0,
    by_epoch=True,
    convert_to_iter_based=True)

train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')

# lr above is for the total batch size below; use
# `tools/train.py --auto-scale-lr` to scale linearly with the real batch.
auto_scale_lr = dict(base_batch_size=128, enable=False)
