# "Baseline (CLIP-ViT-B/16)" of EKLSR Table 1 on RSICD: CLIP ViT-B/16 (OpenAI
# weights) fine-tuned with the symmetric InfoNCE loss (learnable temperature,
# the 5 captions of an image are all positives), EKLSR §4.2 settings: lr 1e-5,
# batch 128, cosine schedule after 2000 warm-up steps (at most 60 % of
# the run, docs/reproduction.md), 10 epochs, 224x224.
_base_ = [
    '../_base_/datasets/rsicd_galr.py',
    '../_base_/models/clip_vit-b16.py',
    '../_base_/schedules/adam_cosine_warmup2000it.py',
]

train_dataloader = dict(batch_size=128)
train_cfg = dict(max_epochs=10)
auto_scale_lr = dict(base_batch_size=128)

# RSICD AMFMN/GaLR split (../_base_/datasets/rsicd_galr.py): train on all
# 9,828 non-test images; there is no val split, so no validation and the
# last checkpoint is kept (the test split is only for tools/test.py).
val_cfg = None
