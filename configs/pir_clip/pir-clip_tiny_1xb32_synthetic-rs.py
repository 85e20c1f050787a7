# Tiny PIR-CLIP, stage 2 on CPU: fine-tune the stage-1 model on the synthetic
# remote-sensing captions, evaluate R@K/mR (val each 3 epochs, test at the
# end with tools/test.py).
#   python tools/train.py configs/pir_clip/pir-clip_tiny_1xb32_synthetic-rs.py \
#       --cfg-options load_from=work_dirs/pir-clip_tiny_1xb32_synthetic-shards/epoch_3.pth
_base_ = [
    '../_base_/datasets/synthetic_rs.py',
    '../_base_/models/pir_clip_tiny.py',
    '../_base_/schedules/adamw_cosine_warmup.py',
]

load_from = 'work_dirs/pir-clip_tiny_1xb32_synthetic-shards/epoch_3.pth'
optim_wrapper = dict(optimizer=dict(lr=5e-4, weight_decay=0.05))
param_scheduler = dict(warmup_iters=30, eta_min=1e-5)
train_cfg = dict(max_epochs=6, val_interval=3)
auto_scale_lr = dict(base_batch_size=32)
