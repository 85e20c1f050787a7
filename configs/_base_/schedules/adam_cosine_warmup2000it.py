# EKLSR §4.2 fine-tuning schedule for CLIP-ViT-B/16: lr 1e-5, cosine
# annealing after a 2000-step linear warm-up, batch 128.  The optimizer is
# IRRA's Adam (eps 1e-3), on which EKLSR builds.  Epochs: 10 for RSITR and
# 50 for TIReID (set by each config).
lr = 1e-5
max_epochs = 10
warmup_iters = 2000

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=lr, betas=(0.9, 0.999), eps=1e-3,
                   weight_decay=4e-5),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
auto_scale_lr = dict(base_batch_size=128, enable=False)
