# PIR-ITR schedule as released (docs/methods/pir.md#11-pir-itr-settings):
# AdamW betas (0.9, 0.98), eps 1e-8, weight decay 0.01 except biases and
# normalisation layers (and the learnable temperatures), lr 6e-5; linear
# warm-up over the first 10% of the iterations, then linear decay to 0,
# both stepped per iteration; 50 epochs; global batch 256 (2 GPUs x 128).
# The released `lr_mult: 2` has no effect (no parameter group uses it), so
# it is not reproduced.
lr = 6e-5
max_epochs = 50
warmup_epochs = 5  # 10% of max_epochs

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.98), eps=1e-8,
                   weight_decay=0.01),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0,
        custom_keys={'logit_scale': dict(decay_mult=0.0)}),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, end_factor=1.0, by_epoch=True,
         begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=True,
         begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')

# lr above is for a global batch of 256 (`tools/train.py --auto-scale-lr`
# scales it linearly with the real global batch).
auto_scale_lr = dict(base_batch_size=256, enable=False)
