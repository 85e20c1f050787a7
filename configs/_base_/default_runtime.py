# Runtime settings shared by every sdtr config.
default_scope = 'sdtr'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # "best" is selected on the val split (never test); configs of datasets
    # without a val split (ICFG-PEDES) set save_best=None.
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=2,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # records and logs, in the main process, the training samples skipped
    # inside DataLoader workers (skip_bad_samples=True, corrupt images)
    skipped_samples=dict(type='SkippedSamplesHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; tools/train.py switches to gloo on CPU-only machines.
    dist_cfg=dict(backend='nccl'),
)

# TensorBoard is used when installed (tools/train.py adds it), plus local
# json/scalars logs in the work_dir.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True, window_size=10)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=42, deterministic=False)
