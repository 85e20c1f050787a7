# PIR-CLIP stage 1: pre-training on RS5M shards (PIR paper §IV-C3, §V-C;
# PIR-CLIP README: batch 512 = 8 GPUs x 64, lr 1e-5, wd 0.5, cosine,
# 10000 warm-up steps, AMP, 20 epochs, webdataset --dataset-resampled).
# Initialised from OpenAI ViT-B/32 + RN50 (the README does not say how the
# release was initialised, docs/methods/pir.md#14-pir-clip-settings).  AMP:
# unverified (no GPU in the sdtr CI).
#   bash tools/dist_train.sh configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_rs5m.py 8
_base_ = [
    '../_base_/datasets/rs5m_shards.py',
    '../_base_/models/pir_clip_vit-b32-rn50.py',
    '../_base_/schedules/pir_clip_adamw_cosine.py',
    '../_base_/default_runtime.py',
]

max_epochs = 20
train_dataloader = dict(batch_size=64)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=2,
                                     save_best=None))
