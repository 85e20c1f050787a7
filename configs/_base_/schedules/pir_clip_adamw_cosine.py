# PIR-CLIP schedule (release README, docs/methods/pir.md#14-pir-clip-settings):
# AdamW betas (0.9, 0.999), eps 1e-8 (open_clip's defaults for a model whose
# name has no "vit"), lr 1e-5, weight decay 0.5, linear warm-up then cosine
# decay per iteration.  Decay exemptions = open_clip's training main.py
# (jaychempan/PIR-CLIP @ 9554baf, src/training/main.py): parameters with
# ndim < 2 or whose name contains bn / ln / bias / logit_scale get no decay,
# everything else decays, the 2-D positional and token embeddings, the
# projections and the attention-pool position embedding included.
# --precision amp in the release: AmpOptimWrapper (unverified here: no GPU).
lr = 1e-5
warmup_iters = 10000
max_epochs = 20

optim_wrapper = dict(
    type='AmpOptimWrapper',
    dtype='float16',
    optimizer=dict(type='AdamW', lr=lr, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=0.5),
    # norms and biases (bn/ln/bias), all other 1-D tensors (class
    # embedding, ...) and the 0-D logit scale are not decayed
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
        custom_keys={'logit_scale': dict(decay_mult=0.0)}),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='RetrievalValLoop')
test_cfg = dict(type='RetrievalTestLoop')
auto_scale_lr = dict(base_batch_size=512, enable=False)
