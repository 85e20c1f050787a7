# Sydney-captions (Qu et al., CITS 2016): 613 images (500x500 tif) of
# Sydney, 5 captions each, Karpathy-style json, train 497 / val 58 /
# test 58.
#
# Expected layout (see docs/datasets.md):
#   data/sydney_captions/
#       dataset.json      {"images": [{"filename": "1.tif", "split",
#                           "sentences": [{"raw"}]}]}
#       imgs/*.tif
#
# The file names are numeric and carry no scene class, so scene labels are
# off (scene_rule=None -> label -1).  Some releases ship COCO-captions json
# instead; then use type='COCOCaptionDataset', ann_file='<file>.json'.
_base_ = ['../default_runtime.py']

__dataset_type = 'KarpathyCaptionDataset'
__data_root = 'data/sydney_captions'
__img_size = 224

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=__img_size,
         crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # captions tokenised here (in the workers) by the model's tokenizer
    dict(type='TokenizeCaption', tokenizer='model'),
    dict(type='PackRetrievalInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__img_size, __img_size),
         interpolation='bicubic'),
    dict(type='PackRetrievalInputs'),
]

train_dataloader = dict(
    # images stacked in the workers and pinned: one non-blocking uint8 copy
    # per batch (docs/training.md#speed)
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    drop_last=True,
    # augmentation drawn from (seed, epoch, sample) (docs/training.md)
    sampler=dict(type='SeededSampler', shuffle=True),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='dataset.json',
        data_prefix=dict(img_path='imgs'),
        split='train',
        scene_rule=None,
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
        ann_file='dataset.json',
        data_prefix=dict(img_path='imgs'),
        split='val',
        scene_rule=None,
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='RSITRRecall')
# the best checkpoint is selected on val mR (never on test)
default_hooks = dict(
    checkpoint=dict(save_best='rsitr/mR', rule='greater'))
test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=__dataset_type,
        data_root=__data_root,
        ann_file='dataset.json',
        data_prefix=dict(img_path='imgs'),
        split='test',
        scene_rule=None,
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
