# Tiny PIR-CLIP, stage 1 on CPU: pre-train on webdataset shards of the
# synthetic remote-sensing captions (train split, 480 images x 5 captions).
#   python tools/dataset_converters/make_shards.py --synthetic rs \
#       --out data/synthetic_rs_shards --maxcount 300
#   python tools/train.py configs/pir_clip/pir-clip_tiny_1xb32_synthetic-shards.py
_base_ = [
    '../_base_/datasets/rs5m_shards.py',
    '../_base_/models/pir_clip_tiny.py',
]

train_pipeline = [
    dict(type='mmpretrain.RandomResizedCrop', scale=64,
         crop_ratio_range=(0.85, 1.0), interpolation='bicubic'),
    # captions tokenised here (in the workers) by the model's tokenizer
    dict(type='TokenizeCaption', tokenizer='model'),
    dict(type='PackRetrievalInputs'),
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    dataset=dict(
        shards='data/synthetic_rs_shards',
        shuffle_buffer=500,
        skip_bad_samples=False,
        pipeline=train_pipeline))
optim_wrapper = dict(
    type='OptimWrapper',
    constructor='MergedGroupsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.98), eps=1e-6,
                   weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0,
                       custom_keys={'logit_scale': dict(decay_mult=0.0)}))
param_scheduler = dict(
    type='WarmupAnnealingLR', warmup_iters=50, warmup_start_factor=0.01,
    anneal='cosine', eta_min=1e-4, by_epoch=True, convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=3)
val_dataloader = None
val_evaluator = None
val_cfg = None
default_hooks = dict(
    logger=dict(interval=25),
    checkpoint=dict(interval=1, max_keep_ckpts=1))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
auto_scale_lr = dict(base_batch_size=32, enable=False)
