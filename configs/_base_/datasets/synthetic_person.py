# Synthetic text-based person search: generated on first use (cached in
# $SDTR_CACHE/synthetic or ~/.cache/sdtr/synthetic), no download.
# An identity = (upper colour, lower colour, bag, hat, shoes); 64 train /
# 16 val / 32 test identities (disjoint), 4 "camera views" each (shift,
# scale, background, brightness, facing), 2 captions per image, 96x32 px,
# read through the real CUHK-PEDES loader (the datasets' `format` may be
# 'cuhkpedes', 'rstpreid' or 'icfgpedes' -- the last has no val split).
# Generate explicitly with `sdtr-make-synthetic person`.
#
# The pipeline is IRRA's scaled down (resize, flip, pad 4 + random crop);
# random erasing is left out so a few CPU minutes are enough to learn.
# Override pipelines as a whole in child configs (see synthetic_rs.py).
_base_ = ['../default_runtime.py']

__img_size = (96, 32)  # (height, width)
__synthetic_format = 'cuhkpedes'
__synthetic_person = dict(
    type='SyntheticPersonCaptionDataset',
    format=__synthetic_format,
    num_train_ids=64,
    num_val_ids=16,
    num_test_ids=32,
    images_per_id=4,
    img_size=__img_size,
    seed=0)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__img_size[1], __img_size[0]),
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.RandomCrop', crop_size=__img_size, padding=4),
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
    dataset=dict(__synthetic_person, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        __synthetic_person, split='val', test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='PersonSearchMetric')
# the best checkpoint is selected on val R@1 (never on test).  Runs on
# this data are short CPU runs: log every 25 iterations, keep one
# checkpoint, written every 3 epochs, gloo between CPU processes.
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=3, max_keep_ckpts=1, save_best='person/R@1',
                    rule='greater'))
env_cfg = dict(dist_cfg=dict(backend='gloo'), torch_num_threads=2)
test_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        __synthetic_person, split='test', test_mode=True,
        pipeline=test_pipeline))
test_evaluator = val_evaluator
