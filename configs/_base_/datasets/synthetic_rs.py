# Synthetic remote-sensing captions: generated on first use (a few seconds,
# cached in $SDTR_CACHE/synthetic or ~/.cache/sdtr/synthetic), no download.
# 10 scene types (airport, farmland, forest, harbor, residential, desert,
# beach, parking, river, stadium) x object groups (kind, colour, count,
# place), 5 different captions per image; 480 train / 80 val / 120 test
# images of 64x64 px, read through the real Karpathy-json loader
# (the datasets' `format` may be 'karpathy', 'galr', 'coco' or 'pir').
# Generate explicitly with `sdtr-make-synthetic rs` or
# `python tools/dataset_converters/make_synthetic.py rs`.
#
# Overriding sizes in a child config: the pipelines below are evaluated in
# this file, so change them as a whole (or use --cfg-options, e.g.
# train_dataloader.dataset.pipeline.1.scale=32), and the generator through
# the dataset fields (train_dataloader.dataset.img_size=...).
#
# No horizontal flip: the captions say "left"/"right".
_base_ = ['../default_runtime.py']

__img_size = 64
__synthetic_format = 'karpathy'
__synthetic_rs = dict(
    type='SyntheticRSCaptionDataset',
    format=__synthetic_format,
    num_train=480,
    num_val=80,
    num_test=120,
    img_size=__img_size,
    seed=0)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=__img_size,
         crop_ratio_range=(0.85, 1.0), interpolation='bicubic'),
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

# CPU runs: the images are tiny, so they are loaded in the training process
# (num_workers=0: no worker processes competing with the model for the
# processors), and torch uses 2 threads whatever the machine (the numbers
# depend on the thread count; docs/training.md#cpu-threads).
train_dataloader = dict(
    # images stacked and pinned: one non-blocking uint8 copy per batch
    # (docs/training.md#speed)
    collate_fn=dict(type='default_collate'),
    pin_memory=True,
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    drop_last=True,
    # augmentation drawn from (seed, epoch, sample) (docs/training.md)
    sampler=dict(type='SeededSampler', shuffle=True),
    dataset=dict(__synthetic_rs, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        __synthetic_rs, split='val', test_mode=True, pipeline=test_pipeline))
val_evaluator = dict(type='RSITRRecall')
# the best checkpoint is selected on val mR (never on test).  Runs on
# this data are short CPU runs: log every 25 iterations, keep one
# checkpoint, written every 3 epochs, gloo between CPU processes.
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=3, max_keep_ckpts=1, save_best='rsitr/mR',
                    rule='greater'))
env_cfg = dict(dist_cfg=dict(backend='gloo'), torch_num_threads=2)
test_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        __synthetic_rs, split='test', test_mode=True, pipeline=test_pipeline))
test_evaluator = val_evaluator
