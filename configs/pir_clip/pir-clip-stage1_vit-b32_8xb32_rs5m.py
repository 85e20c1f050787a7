# PIR-CLIP stage 1: pre-training on RS5M shards (PIR §IV-C3: "we first
# pre-train on RS5M dataset using CLIP with contrastive loss, then fine-tune
# visual representation from RSITR datasets"; §V-C): plain CLIP ViT-B/32 +
# text transformer from OpenAI weights, contrastive loss only, batch 256 =
# 8 GPUs x 32, epochs of 1,000,000 samples ("the training samples go through
# 1,000,000 steps per epoch"), 20 epochs; AdamW lr 1e-5, wd 0.5, 10,000
# warm-up iterations then cosine, AMP, webdataset --dataset-resampled
# (PIR-CLIP README).  Stage 2 (pir-clip_vit-b32-rn50_8xb64_*.py) loads its
# image and text towers and adds the instruction branch.
# The release instead pre-trains the whole PIR-CLIP with the affiliation
# loss on RS5M (its README command: --model PIR --is_aff_loss):
# ablations/pir-clip-stage1-released_vit-b32-rn50_8xb32_rs5m.py.
# The README's batch (512 per process, one pass over RS5M per epoch):
# --cfg-options train_dataloader.batch_size=64
# train_dataloader.dataset.epoch_size=None (docs/reproduction.md).
#   bash tools/dist_train.sh configs/pir_clip/pir-clip-stage1_vit-b32_8xb32_rs5m.py 8
_base_ = [
    '../_base_/datasets/rs5m_shards.py',
    '../_base_/models/clip_vit-b32.py',
    '../_base_/schedules/pir_clip_adamw_cosine.py',
]

train_dataloader = dict(batch_size=32, dataset=dict(epoch_size=1_000_000))
