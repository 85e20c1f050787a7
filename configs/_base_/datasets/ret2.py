# RET-2 = RSICD + RSITMD, trained jointly (PIR-CLIP / RemoteCLIP style).
#
# Expected layout: those of rsicd.py and rsitmd.py (see docs/datasets.md):
#   data/rsicd/dataset_rsicd.json, data/rsicd/RSICD_images/*.jpg
#   data/rsitmd/rsitmd_precomp/*.txt, data/rsitmd/images/*.tif
#
# Train: the concatenation of the train splits with one image-id / label
# space.  Train images that duplicate an image of any val or test split of
# the members are removed (perceptual average hash, catches the same scene
# saved as jpg and as tif), and so are repeats inside the training set; the
# removed files are logged (and written to `dedupe_report` if set).
# Val: one gallery = RSICD val + RSITMD val (no de-duplication: the
# benchmark galleries stay as published).
# Test: RSITMD test by default; set `test_dataloader.dataset` to
# `rsicd_test` (or `rsitmd_test`) to report each benchmark separately.
__img_size = 224
__rsicd_root = 'data/rsicd'
__rsitmd_root = 'data/rsitmd'
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

rsicd_train = dict(
    type='KarpathyCaptionDataset', data_root=__rsicd_root,
    ann_file='dataset_rsicd.json', data_prefix=dict(img_path='RSICD_images'),
    split='train')
rsitmd_train = dict(
    type='GaLRCaptionDataset', data_root=__rsitmd_root,
    ann_file='rsitmd_precomp', split_files=__rsitmd_split_files,
    data_prefix=dict(img_path='images'), split='train',
    skip_bad_samples=True)
rsicd_val = dict(rsicd_train, split='val', test_mode=True,
                 pipeline=test_pipeline)
rsicd_test = dict(rsicd_train, split='test', test_mode=True,
                  pipeline=test_pipeline)
rsitmd_val = dict(rsitmd_train, split='val', skip_bad_samples=False,
                  test_mode=True, pipeline=test_pipeline)
rsitmd_test = dict(rsitmd_train, split='test', skip_bad_samples=False,
                   test_mode=True, pipeline=test_pipeline)

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='RetrievalConcatDataset',
        datasets=[rsicd_train, rsitmd_train],
        exclude=[rsicd_val, rsicd_test, rsitmd_val, rsitmd_test],
        dedupe='ahash',
        dedupe_within=True,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='RetrievalConcatDataset',
        datasets=[rsicd_val, rsitmd_val],
        dedupe=None,
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
    dataset=rsitmd_test)
test_evaluator = val_evaluator
