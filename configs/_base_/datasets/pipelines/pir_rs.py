# PIR-ITR's image/caption pipelines for the remote-sensing caption datasets,
# shared by every PIR-ITR config (use with a dataset base, e.g.
# '../_base_/datasets/rsitmd_pir.py', and set the dataloaders' pipelines to
# the pir_train_pipeline / pir_test_pipeline variables of this base).
# PIR's train transform (docs/methods/pir.md#11-pir-itr-settings; release:
# jaychempan/PIR dataset/__init__.py): random resized crop 224 (scale 0.5-1,
# bicubic), horizontal flip, then ALBEF/X-VLM's RandomAugment with 2 ops at
# magnitude 7 (sdtr `RandomAugment`, defaults = the release: ops Identity,
# AutoContrast, Equalize, Brightness/Sharpness x1.36, ShearX/Y +-0.21,
# TranslateX/Y +-7 px, Rotate +-21 deg, each drawn op applied with
# probability 0.5; AutoContrast is a contrast stretch, the release's
# uint8-wrapping form is autocontrast='released'), then PIR's caption
# cleaning (pre_caption, 30 words).
# Test: resize 224 + pre_caption.
__pir_img_size = 224
pir_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=__pir_img_size,
         crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomAugment', num_ops=2, magnitude=7),
    dict(type='PreCaption', max_words=30),
    # captions tokenised here (in the workers) by the model's tokenizer
    dict(type='TokenizeCaption', tokenizer='model'),
    dict(type='PackRetrievalInputs'),
]
pir_test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__pir_img_size, __pir_img_size),
         interpolation='bicubic'),
    dict(type='PreCaption', max_words=30),
    dict(type='PackRetrievalInputs'),
]
