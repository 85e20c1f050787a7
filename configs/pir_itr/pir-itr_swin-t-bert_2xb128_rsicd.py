# PIR-ITR with hard belief on RSICD (PIR Table I, paper-reported mR 24.46).
# Swin-T + BERT-base, frozen ResNet-50 AID scene prior, Spatial-PAE (2) +
# Temporal-PAE (3),
# contrastive + affiliation loss; AdamW lr 6e-5, 10% warm-up then linear decay,
# 50 epochs,
# global batch 256 = 2 GPUs x 128:
#   bash tools/dist_train.sh \
#       configs/pir_itr/pir-itr_swin-t-bert_2xb128_rsicd.py 2
# Split: the official RSICD Karpathy split (val 1,094); the released PIR carved
# a
# 1,966-image val set out of the AMFMN train images (upstream_facts §1.8).
_base_ = [
    '../_base_/datasets/rsicd.py',
    '../_base_/models/pir_itr_swin-t_bert.py',
    '../_base_/schedules/pir_adamw_linear_warmup.py',
    '../_base_/default_runtime.py',
]

# PIR's train transform (upstream_facts §1.8): random resized crop 224
# (scale 0.5-1, bicubic), horizontal flip, RandomAugment with 2 ops of
# magnitude 7 (mmpretrain RandAugment over PIR's op list), then PIR's caption
# cleaning (pre_caption, 30 words).  Test: resize 224 + pre_caption.
img_size = 224
pir_randaug_ops = [
    dict(type='mmpretrain.AutoContrast'),
    dict(type='mmpretrain.Equalize'),
    dict(type='mmpretrain.Brightness', magnitude_range=(0, 0.9)),
    dict(type='mmpretrain.Sharpness', magnitude_range=(0, 0.9)),
    dict(type='mmpretrain.Shear', magnitude_range=(0, 0.3),
         direction='horizontal'),
    dict(type='mmpretrain.Shear', magnitude_range=(0, 0.3),
         direction='vertical'),
    dict(type='mmpretrain.Translate', magnitude_range=(0, 0.45),
         direction='horizontal'),
    dict(type='mmpretrain.Translate', magnitude_range=(0, 0.45),
         direction='vertical'),
    dict(type='mmpretrain.Rotate', magnitude_range=(0, 30)),
]
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=img_size,
         crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.RandAugment', policies=pir_randaug_ops,
         num_policies=2, magnitude_level=7, total_level=10),
    dict(type='PreCaption', max_words=30),
    dict(type='PackRetrievalInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(img_size, img_size), interpolation='bicubic'),
    dict(type='PreCaption', max_words=30),
    dict(type='PackRetrievalInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
default_hooks = dict(checkpoint=dict(save_best='rsitr/mR', rule='greater'))
