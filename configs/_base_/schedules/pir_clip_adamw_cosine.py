# PIR-CLIP stage-1 schedule (RS5M pre-training, the only user;
# docs/methods/pir.md#14-pir-clip-settings; jaychempan/PIR-CLIP README
# command and open_clip's defaults): AdamW betas (0.9, 0.999), eps 1e-8
# (open_clip's defaults for a model whose name has no "vit"), lr 1e-5,
# weight decay 0.5, 10,000 warm-up iterations (open_clip's cosine_lr starts
# at 1/10,000 of the lr), then cosine to 0 at the end of the run
# (train_cfg.max_epochs = 20), per iteration; AMP (--precision amp).
# Decay exemptions = open_clip's training main.py (jaychempan/PIR-CLIP @
# 9554baf, src/training/main.py): parameters with ndim < 2 or whose name
# contains bn / ln / bias / logit_scale get no decay, everything else
# decays, the 2-D positional and token embeddings, the projections and the
# attention-pool position embedding included.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    # one parameter group per distinct (lr, weight decay), fused/foreach
    # Adam kernels (sdtr/engine/optimizers; docs/training.md#speed)
    constructor='MergedGroupsOptimWrapperConstructor',
    dtype='float16',
    optimizer=dict(type='AdamW', lr=1e-5, betas=(0.9, 0.999), eps=1e-8,
                   weight_decay=0.5),
    # norms and biases (bn/ln/bias), all other 1-D tensors (class
    # embedding, ...) and the 0-D logit scale are not decayed
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
        custom_keys={'logit_scale': dict(decay_mult=0.0)}),
)
param_scheduler = dict(
    type='WarmupAnnealingLR',
    warmup_iters=10000,
    warmup_start_factor=1e-4,
    anneal='cosine',
    eta_min=0.0,
    by_epoch=True,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=20)
# pre-training: no validation, no test (the data have no such split)
val_cfg = None
test_cfg = None
# PIR §V-C: pre-training batch 256 (tools/train.py --auto-scale-lr scales the
# lr linearly with the real total batch)
auto_scale_lr = dict(base_batch_size=256, enable=False)
