# PIR-ITR's image/caption pipelines for the remote-sensing caption datasets,
# shared by every PIR-ITR config (use with a dataset base, e.g.
# '../_base_/datasets/rsitmd.py', and set the dataloaders' pipelines to
# the pir_train_pipeline / pir_test_pipeline variables of this base).
# PIR's train transform (upstream_facts §1.8): random resized crop 224
# (scale 0.5-1, bicubic), horizontal flip, RandomAugment with 2 ops of
# magnitude 7 (mmpretrain RandAugment over PIR's op list), then PIR's caption
# cleaning (pre_caption, 30 words).  Test: resize 224 + pre_caption.
__pir_img_size = 224
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
pir_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=__pir_img_size,
         crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.RandAugment', policies=pir_randaug_ops,
         num_policies=2, magnitude_level=7, total_level=10),
    dict(type='PreCaption', max_words=30),
    dict(type='PackRetrievalInputs'),
]
pir_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__pir_img_size, __pir_img_size),
         interpolation='bicubic'),
    dict(type='PreCaption', max_words=30),
    dict(type='PackRetrievalInputs'),
]
