# CPU budget shared by every tiny config on the synthetic person data: the
# remote-sensing tiny budget with 100 warm-up iterations (16 iterations per
# epoch here) and the best checkpoint chosen on val person/R@1.
_base_ = ['./tiny_adamw_cosine_12e_synthetic-rs.py']

warmup_iters = 100
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=0,
         end={{_base_.max_epochs}}, convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(save_best='person/R@1'))
