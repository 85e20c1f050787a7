# RSITMD (Yuan et al., "Exploring a Fine-Grained Multiscale Method for
# Cross-Modal Remote Sensing Image Retrieval", TGRS 2022): 4,743 images
# (256x256 tif), 5 captions each, in the AMFMN/GaLR txt layout.
#
# Expected layout (see docs/datasets.md):
#   data/rsitmd/
#       rsitmd_precomp/
#           train_caps_verify.txt, train_filename_verify.txt  (3,435 images,
#                                  one name line per image; SWAN's split)
#           val_caps_verify.txt, val_filename_verify.txt      (856 images,
#                                  one name line per caption)
#           test_caps.txt, test_filename.txt                  (452 images,
#                                  one name line per caption)
#           train_caps.txt, train_filename.txt  (GaLR: all 4,291 non-test
#                                  images = train_verify + val_verify)
#       images/*.tif
#
# Split choice: train/val use SWAN's *_verify files (the 3,435 / 856 split
# PIR also uses) so that model selection never sees test or train images.
# The common "train on all 4,291" protocol is
#     split_files=dict(train=('train_caps.txt', 'train_filename.txt'))
# but then every val image is also a train image.
# The public train_caps.txt has 4 images whose 5 captions are all empty
# (e.g. mountain_2378.tif); skip_bad_samples=True drops them with a warning.
__dataset_type = 'GaLRCaptionDataset'
__data_root = 'data/rsitmd'
__img_size = 224
__rsitmd_split_files = dict(
    train=('train_caps_verify.txt', 'train_filename_verify.txt'),
    val=('val_caps_verify.txt', 'val_filename_verify.txt'),
    test=('test_caps.txt', 'test_filename.txt'))

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
        ann_file='rsitmd_precomp',
        split_files=__rsitmd_split_files,
        data_prefix=dict(img_path='images'),
        split='train',
        skip_bad_samples=True,
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
        ann_file='rsitmd_precomp',
        split_files=__rsitmd_split_files,
        data_prefix=dict(img_path='images'),
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
        ann_file='rsitmd_precomp',
        split_files=__rsitmd_split_files,
        data_prefix=dict(img_path='images'),
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
