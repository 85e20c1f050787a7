# "Baseline (CLIP-ViT-B/16)" of EKLSR Table 3 on RSTPReid: CLIP ViT-B/16 (OpenAI
# weights, position embedding interpolated to the 24x8 grid of 384x128
# crops) fine-tuned with InfoNCE over identity positives (fixed scale 50, as
# IRRA's ITC).  EKLSR §4.2 settings: lr 1e-5, batch 128, cosine schedule
# after 2000 warm-up steps, 50 epochs.
_base_ = [
    '../_base_/datasets/rstpreid.py',
    '../_base_/models/clip_vit-b16_person.py',
    '../_base_/schedules/adam_cosine_warmup2000it.py',
]

train_dataloader = dict(batch_size=128)
train_cfg = dict(max_epochs=50)
auto_scale_lr = dict(base_batch_size=128)
