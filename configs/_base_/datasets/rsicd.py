# RSICD (Lu et al., "Exploring Models and Data for Remote Sensing Image
# Caption Generation", TGRS 2017): 10,921 images (224x224 jpg), 5 captions
# each, Karpathy-style json with the official splits
# train 8,734 / val 1,094 / test 1,093.
#
# Expected layout (see docs/datasets.md):
#   data/rsicd/
#       dataset_rsicd.json        {"images": [{"filename", "split",
#                                   "sentences": [{"raw"}]}]}
#       RSICD_images/*.jpg
#
# Scene labels: file-name prefix (airport_1.jpg -> airport); the purely
# numeric RSICD files (00578.jpg) are singleton classes (PIR's rule).
# Images are uint8 BGR here; the model's data preprocessor normalises.
__dataset_type = 'KarpathyCaptionDataset'
__data_root = 'data/rsicd'
__img_size = 224

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=__img_size,
         crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackRetrievalInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__img_size, __img_size),
         interpolation='bicubic'),
    dict(type='PackRetrievalInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='dataset_rsicd.json',
        data_prefix=dict(img_path='RSICD_images'),
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='dataset_rsicd.json',
        data_prefix=dict(img_path='RSICD_images'),
        split='val',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='RSITRRecall')
test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='dataset_rsicd.json',
        data_prefix=dict(img_path='RSICD_images'),
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
