# CPU budget shared by every tiny config on the synthetic remote-sensing data
# (quickstart CLIP, EKLSR tiny, ...): 12 epochs x 75 iterations, batch 32,
# AdamW lr 1e-3 with 150 warm-up iterations then cosine to 1e-5, val every
# 3 epochs, best checkpoint on val mR, gloo for CPU runs.  It includes the
# default runtime (configs using it do not list default_runtime.py).  Same
# file = same budget, so tiny methods and the baseline compare fairly.
_base_ = ['./adamw_cosine_warmup.py', '../default_runtime.py']

optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = dict(warmup_iters=150, eta_min=1e-5)
train_cfg = dict(max_epochs=12, val_interval=3)
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=3, max_keep_ckpts=1, save_best='rsitr/mR',
                    rule='greater'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
auto_scale_lr = dict(base_batch_size=32)
