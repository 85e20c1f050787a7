# Runtime settings shared by every sdtr config.  Every dataset base
# (datasets/*.py) inherits this file and sets, next to its val evaluator,
# the metric that selects the best checkpoint, so a method config lists
# dataset, model and schedule bases but not this file (mmengine refuses a
# key that two sibling bases define: "Duplicate key is not allowed among
# bases").  Configs without a dataset base list it themselves.
default_scope = 'sdtr'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # mmengine's CheckpointHook (same options) with crash-safe writes: a kill
    # at any moment leaves `last_checkpoint` naming a complete checkpoint.
    # "best" is selected on the val split (never test): the dataset bases
    # set save_best (None for datasets without a val split).
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2,
        save_best='auto'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # records and logs, in the main process, the training samples skipped
    # inside DataLoader workers (skip_bad_samples=True, corrupt images)
    skipped_samples=dict(type='SkippedSamplesHook'),
    # stop at the first NaN/inf loss or gradient, before any checkpoint of
    # it is written; mode='skip' skips such steps instead (fp16), and stops
    # after max_consecutive_skips of them in a row.
    non_finite=dict(type='NonFiniteCheckHook', mode='stop',
                    max_consecutive_skips=25),
    # on SIGTERM/SIGUSR1 (preemption, spot instances, Slurm --signal):
    # checkpoint after the iteration in progress, then stop (exit code
    # 128 + signal); --resume continues there, mid-epoch (docs/training.md)
    preemption=dict(type='PreemptionHook', signals=('SIGTERM', 'SIGUSR1')),
    # RNG states in checkpoints; only the training steps draw from the
    # training streams: a killed and resumed run ends bit-identical
    # (docs/training.md#reproducibility).  The augmentation seeds are the
    # samplers' (SeededSampler in the dataset bases).
    reproducibility=dict(type='ReproducibilityHook'),
    # the first training iteration is logged at once (the logger's first
    # line comes after `logger.interval` iterations), and on a terminal a
    # bar shows the iterations and the time left (not in log files)
    progress=dict(type='TrainProgressHook'),
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

# losses, times and *_frac scalars (e.g. isgvfc_pos_frac) are averaged over
# the window; other scalars are logged as their current value
log_processor = dict(
    by_epoch=True, window_size=10,
    mean_pattern=r'.*(loss|time|data_time|grad_norm|_frac).*')
log_level = 'INFO'
load_from = None
# How sdtr's runners load load_from checkpoints (resume is always strict):
# strict=True stops on any missing, unexpected or wrongly shaped key;
# strict=False (tools: --partial-load) loads what matches and logs the
# coverage; ignore_keys lists regexes of keys excluded on purpose.
load_cfg = dict(strict=True, ignore_keys=[])
resume = False
# One rule for randomness (docs/training.md#reproducibility):
# * augmentation: every training sample is drawn from a seed derived from
#   (sampler seed, epoch, sample index) only, never from the rank or the
#   worker.  The sampler seed is `seed`, or with diff_rank_seed=True one
#   that mmengine draws from it and shares across ranks;
# * model-side randomness (dropout, MIM masks, EKLSR key-local draws,
#   IS-GVFC sampling) uses seed + rank with diff_rank_seed=True (each rank
#   draws its own masks), the same seed on every rank with False.
# So with diff_rank_seed=False a 2-rank run equals the 1-rank run at the
# same global batch; with True only the model-side draws differ.
randomness = dict(seed=42, diff_rank_seed=True, deterministic=False)
