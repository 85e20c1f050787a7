# CPU budget shared by every tiny config on the synthetic remote-sensing data
# (quickstart CLIP, EKLSR tiny, ...): 12 epochs x 75 iterations, batch 32,
# AdamW lr 1e-3 with 150 warm-up iterations then cosine to 1e-5, val every
# 3 epochs.  Same file = same budget, so tiny methods and the baseline
# compare fairly.  Checkpoint selection, logging and the CPU backend come
# with the dataset base (../datasets/synthetic_rs.py).
_base_ = ['./adamw_cosine_warmup.py']

optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.05))
param_scheduler = dict(warmup_iters=150, eta_min=1e-5)
train_cfg = dict(max_epochs=12, val_interval=3)
auto_scale_lr = dict(base_batch_size=32)
