# CUHK-PEDES (Li et al., "Person Search with Natural Language Description",
# CVPR 2017): 40,206 images of 13,003 identities, 2 captions per image;
# IRRA's split train 11,003 ids / val 1,000 / test 1,000.
#
# Expected layout (IRRA's, see docs/datasets.md):
#   data/CUHK-PEDES/
#       reid_raw.json     [{"split", "captions", "file_path", "id", ...}]
#       imgs/<file_path>  (CUHK01/, CUHK03/, Market/, test_query/,
#                          train_query/)
#
# Train identities are relabelled 0..N-1 (== IRRA's id - 1 when the ids are
# 1..N, which the loader checks and logs).  Images are uint8 BGR; the model's
# data preprocessor normalises.  Pipeline = IRRA's: resize 384x128 (bicubic),
# flip, pad 10 + random crop, random erasing filled with the CLIP mean.
_base_ = ['../default_runtime.py']

__dataset_type = 'CUHKPEDESDataset'
__data_root = 'data/CUHK-PEDES'
__img_size = (384, 128)  # (height, width)
# CLIP mean in BGR order (the image is BGR until the data preprocessor)
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
        ann_file='reid_raw.json',
        data_prefix=dict(img_path='imgs'),
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='reid_raw.json',
        data_prefix=dict(img_path='imgs'),
        split='val',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='PersonSearchMetric')
# the best checkpoint is selected on val R@1 (never on test)
default_hooks = dict(
    checkpoint=dict(save_best='person/R@1', rule='greater'))
test_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='reid_raw.json',
        data_prefix=dict(img_path='imgs'),
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
