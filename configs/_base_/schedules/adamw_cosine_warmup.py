# CLIP fine-tuning schedule used by the retrieval baselines:
# AdamW, lr 1e-5, cosine decay per iteration after a linear warm-up.
# Methods override lr / epochs / warm-up length.
lr = 1e-5
max_epochs = 10
warmup_iters = 500

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.98), eps=1e-6,
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

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True,
         begin=0, end=max_epochs, convert_to_iter_based=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')

# Learning rates above are for the total batch size below; use
# `tools/train.py --auto-scale-lr` to scale linearly with the real batch.
auto_scale_lr = dict(base_batch_size=128, enable=False)
