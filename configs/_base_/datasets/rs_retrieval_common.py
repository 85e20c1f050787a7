# Loader settings and pipelines shared by the remote-sensing retrieval
# dataset bases (rsitmd_galr.py, rsitmd_pir.py, rsicd_galr.py,
# rsicd_pir.py, rsicd_karpathy.py).  Not a dataset on its own: each of those
# bases inherits it and adds the dataset type, the annotation files and the
# image folder of its split.  See docs/datasets.md.
#
# Images are 224x224 uint8 BGR here; the model's data preprocessor
# normalises.  Train: random resized crop (scale 0.5-1, bicubic) and a
# horizontal flip; val/test: bicubic resize to 224x224.  The runtime
# (../default_runtime.py) comes with it; each split base sets the checkpoint
# selection (val mR, or none without a val split).
_base_ = ['../default_runtime.py']

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
        split='train',
        pipeline=[
            dict(type='LoadImage'),
            dict(type='mmpretrain.RandomResizedCrop', scale=224,
                 crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            # captions tokenised here (in the workers) by the model's
            # tokenizer
            dict(type='TokenizeCaption', tokenizer='model'),
            dict(type='PackRetrievalInputs'),
        ]))
val_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        split='val',
        test_mode=True,
        pipeline=[
            dict(type='LoadImage'),
            dict(type='Resize', scale=(224, 224), interpolation='bicubic'),
            dict(type='PackRetrievalInputs'),
        ]))
val_evaluator = dict(type='RSITRRecall')
test_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        split='test',
        test_mode=True,
        pipeline=[
            dict(type='LoadImage'),
            dict(type='Resize', scale=(224, 224), interpolation='bicubic'),
            dict(type='PackRetrievalInputs'),
        ]))
test_evaluator = dict(type='RSITRRecall')
