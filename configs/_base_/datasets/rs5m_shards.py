# RS5M (Zhang et al., GeoRSCLIP; ~5M remote-sensing image-text pairs) as
# webdataset tar shards, streamed by WebDatasetCaptionDataset (PIR-CLIP
# stage 1).
#
# Expected layout:
#   data/rs5m/shards.json          index (file + num_samples per shard);
#                                  write it for existing shards with
#                                  `python tools/dataset_converters/make_shards.py --index data/rs5m`
#   data/rs5m/<name>-000000.tar    <key>.jpg + <key>.txt (+ <key>.json with
#                                  "img_name"/"scene"; upstream's
#                                  <key>.img_content/.caption/.img_name
#                                  members are read too)
# Build shards of any sdtr caption dataset with make_shards.py.  Shards may
# also be streamed from URLs (webdataset's gopen), e.g.
# train_dataloader.dataset.shards='https://host/rs5m/' (its shards.json),
# 's3://bucket/rs5m/shards.json' or 'pipe:<command>' per shard
# (sdtr/datasets/shard_utils.py).
#
# Resampled mode (open_clip --dataset-resampled): each (rank, worker) streams
# its own disjoint part of successive shard permutations; an epoch is
# `epoch_size` samples over all ranks (default: one pass).  The released
# PIR-CLIP uses open_clip's train transform RandomResizedCrop(224,
# scale 0.9-1, bicubic), no flip (docs/methods/pir.md#14-pir-clip-settings).
# No val split.
_base_ = ['../default_runtime.py']

__img_size = 224
__shard_root = 'data/rs5m'

train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=__img_size,
         crop_ratio_range=(0.9, 1.0), interpolation='bicubic'),
    # captions tokenised here (in the workers) by the model's tokenizer
    dict(type='TokenizeCaption', tokenizer='model'),
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
    sampler=None,  # an IterableDataset splits itself across ranks/workers
    dataset=dict(
        type='WebDatasetCaptionDataset',
        shards=__shard_root,
        resampled=True,
        epoch_size=None,
        shuffle=True,
        shuffle_buffer=2000,
        seed=0,
        skip_bad_samples=True,
        pipeline=train_pipeline))
# no val split: stage-1 configs set val_dataloader/val_cfg/val_evaluator=None
custom_hooks = [dict(type='DatasetEpochHook')]
default_hooks = dict(checkpoint=dict(save_best=None))
# RS5M is pre-training data: no val or test split (the loops are off in the
# pre-training schedule, _base_/schedules/pir_clip_adamw_cosine.py)
val_dataloader = None
val_evaluator = None
test_dataloader = None
test_evaluator = None
