# ICFG-PEDES (Ding et al., "Semantically Self-Aligned Network for
# Text-to-Image Part-aware Person Re-identification", 2021): 54,522 images
# of 4,102 identities, 1 caption per image; train 3,102 ids / test 1,000.
#
# Expected layout (IRRA's, see docs/datasets.md):
#   data/ICFG-PEDES/
#       ICFG-PEDES.json   [{"split", "captions", "file_path", "id"}]
#                         (IRRA's README calls it ICFG_PEDES.json: rename
#                         the file or set ann_file)
#       imgs/train/..., imgs/test/...
#
# ICFG-PEDES HAS NO VAL SPLIT.  This file therefore sets val_dataloader and
# val_evaluator to None instead of quietly validating on the test split
# (which would select checkpoints on test), and keeps the last checkpoint
# (save_best=None).  `val_cfg` lives in the schedule bases (mmengine
# forbids the same key in two sibling bases), so a method config using this
# file must also set
#     val_cfg = None
# and report the last (or a fixed-epoch) checkpoint on test.
# Asking the dataset for split='val' raises an error explaining this.
_base_ = ['../default_runtime.py']

__dataset_type = 'ICFGPEDESDataset'
__data_root = 'data/ICFG-PEDES'
__img_size = (384, 128)  # (height, width)
__random_erasing_fill = (104.09373615, 116.7460125, 122.770938)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__img_size[1], __img_size[0]),
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.RandomCrop', crop_size=__img_size, padding=10),
    dict(type='mmpretrain.RandomErasing', erase_prob=0.5,
         min_area_ratio=0.02, max_area_ratio=0.4, mode='const',
         fill_color=__random_erasing_fill),
    # captions tokenised here (in the workers) by the model's tokenizer
    dict(type='TokenizeCaption', tokenizer='model'),
    dict(type='PackRetrievalInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__img_size[1], __img_size[0]),
         interpolation='bicubic'),
    dict(type='PackRetrievalInputs'),
]

train_dataloader = dict(
    # images stacked in the workers and pinned: one non-blocking uint8 copy
    # per batch (docs/training.md#speed)
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    # augmentation drawn from (seed, epoch, sample) (docs/training.md)
    sampler=dict(type='SeededSampler', shuffle=True),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='ICFG-PEDES.json',
        data_prefix=dict(img_path='imgs'),
        split='train',
        pipeline=train_pipeline))
# no val split (see above): validation is switched off
val_dataloader = None
val_evaluator = None
# no val split: nothing to select on, the last checkpoint is kept
default_hooks = dict(checkpoint=dict(save_best=None, save_last=True))
test_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='ICFG-PEDES.json',
        data_prefix=dict(img_path='imgs'),
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = dict(type='PersonSearchMetric')
