# RSTPReid (Zhu et al., "DSSL: Deep Surroundings-person Separation Learning
# for Text-based Person Retrieval", ACM MM 2021): 20,505 images of 4,101
# identities (5 per id), 2 captions per image; train 3,701 ids / val 200 /
# test 200.
#
# Expected layout (IRRA's, see docs/datasets.md):
#   data/RSTPReid/
#       data_captions.json  [{"id", "img_path", "captions", "split"}]
#       imgs/<img_path>
_base_ = ['../default_runtime.py']

__dataset_type = 'RSTPReidDataset'
__data_root = 'data/RSTPReid'
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
        ann_file='data_captions.json',
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
        ann_file='data_captions.json',
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
        ann_file='data_captions.json',
        data_prefix=dict(img_path='imgs'),
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
