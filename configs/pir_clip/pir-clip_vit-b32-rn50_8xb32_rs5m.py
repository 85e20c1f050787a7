# PIR-CLIP stage 1: pre-training on RS5M shards (PIR paper §IV-C3, §V-C):
# batch 256 = 8 GPUs x 32 and epochs of 1,000,000 samples ("the training
# samples go through 1,000,000 steps per epoch"), 20 epochs; AdamW lr 1e-5,
# wd 0.5, 10,000 warm-up iterations then cosine, AMP, webdataset
# --dataset-resampled (PIR-CLIP README).  The README's command uses
# --batch-size 512 and --train-num-samples <dataset size>: set
# train_dataloader.batch_size=64 and train_dataloader.dataset.epoch_size=None
# for it (docs/reproduction.md).  Initialised from OpenAI ViT-B/32 + RN50 (the
# README does not say how the release was initialised,
# docs/methods/pir.md#14-pir-clip-settings).
#   bash tools/dist_train.sh configs/pir_clip/pir-clip_vit-b32-rn50_8xb32_rs5m.py 8
_base_ = [
    '../_base_/datasets/rs5m_shards.py',
    '../_base_/models/pir_clip_vit-b32-rn50.py',
    '../_base_/schedules/pir_clip_adamw_cosine.py',
]

train_dataloader = dict(batch_size=32, dataset=dict(epoch_size=1_000_000))
train_cfg = dict(max_epochs=20)
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None
