# RET-3 = RSICD + RSITMD + UCM-captions, trained jointly (PIR-CLIP's
# "RET-3").
#
# Members: RSICD in the split of the RSICD release (rsicd_karpathy.py, the
# split the PIR-CLIP release evaluates, see ret2.py), RSITMD in PIR's split
# (rsitmd_pir.py) and the UCM-captions release split (ucm_captions.py).
# Expected layout: that of those bases (see docs/datasets.md):
#   data/rsicd/dataset_rsicd.json, data/rsicd/RSICD_images/*.jpg
#   data/rsitmd/finetune/rsitmd_*.json, data/rsitmd/images/*.tif
#   data/ucm_captions/dataset.json, data/ucm_captions/imgs/*.tif
#
# Train: concatenation of the three train splits (one image-id space;
# scene labels over the union of scene names).  Train images duplicating an
# image of any member's val or test split are removed with a perceptual
# average hash (the same scene saved as tif in one dataset and as jpg in
# another is caught), as are repeats inside the training set; everything
# removed is logged.
# Val: one gallery = RSICD val + RSITMD val + UCM val (no de-duplication).
# Test: RSITMD test; configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_ret3-rsicd.py
# tests the same model on RSICD (its one key:
# test_dataloader.dataset.datasets = [rsicd_test]); `ucm_test` reports UCM
# the same way.
_base_ = ['../default_runtime.py']

__img_size = 224
__rsicd_root = 'data/rsicd'
__rsitmd_root = 'data/rsitmd'
__ucm_root = 'data/ucm_captions'

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

rsicd_train = dict(
    type='KarpathyCaptionDataset', data_root=__rsicd_root,
    ann_file='dataset_rsicd.json', data_prefix=dict(img_path='RSICD_images'),
    split='train')
rsitmd_train = dict(
    type='PIRCaptionDataset', data_root=__rsitmd_root,
    ann_file='finetune/rsitmd_train.json',
    data_prefix=dict(img_path='images'), image_name_only=True,
    split='train')
ucm_train = dict(
    type='KarpathyCaptionDataset', data_root=__ucm_root,
    ann_file='dataset.json', data_prefix=dict(img_path='imgs'),
    split='train', scene_rule='ucm')
rsicd_val = dict(rsicd_train, split='val', test_mode=True,
                 pipeline=test_pipeline)
rsicd_test = dict(rsicd_train, split='test', test_mode=True,
                  pipeline=test_pipeline)
rsitmd_val = dict(rsitmd_train, ann_file='finetune/rsitmd_val.json',
                  split='val', test_mode=True, pipeline=test_pipeline)
rsitmd_test = dict(rsitmd_train, ann_file='finetune/rsitmd_test.json',
                   split='test', test_mode=True, pipeline=test_pipeline)
ucm_val = dict(ucm_train, split='val', test_mode=True,
               pipeline=test_pipeline)
ucm_test = dict(ucm_train, split='test', test_mode=True,
                pipeline=test_pipeline)

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
        type='RetrievalConcatDataset',
        datasets=[rsicd_train, rsitmd_train, ucm_train],
        exclude=[
            rsicd_val, rsicd_test, rsitmd_val, rsitmd_test, ucm_val, ucm_test
        ],
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
        datasets=[rsicd_val, rsitmd_val, ucm_val],
        dedupe=None,
        split='val',
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
    # the benchmark(s) to report; a child config replaces the list (the
    # one key test_dataloader.dataset.datasets)
    dataset=dict(
        type='RetrievalConcatDataset',
        datasets=[rsitmd_test],
        dedupe=None,
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
