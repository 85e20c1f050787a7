# IRRA schedule (docs/methods/irra_clip.md#8-schedule): Adam lr 1e-5,
# 5 warm-up epochs (linear from 0.1x), cosine to 0 over 60 epochs, stepped
# per epoch.  Cross-modal modules and classifiers get 5x lr, biases 2x lr
# and no weight decay.
lr = 1e-5
max_epochs = 60
warmup_epochs = 5

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=lr, betas=(0.9, 0.999), eps=1e-3,
                   weight_decay=4e-5),
    paramwise_cfg=dict(
        bias_lr_mult=2.0, bias_decay_mult=0.0,
        custom_keys={
            'cross': dict(lr_mult=5.0),
            'classifier': dict(lr_mult=5.0),
            'mlm_head': dict(lr_mult=5.0),
        }),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
         end=warmup_epochs),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True,
         begin=warmup_epochs, end=max_epochs),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
auto_scale_lr = dict(base_batch_size=64, enable=False)
