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
    # RNG states in checkpoints + augmentation seeded by (seed, epoch,
    # sample): a killed and resumed run ends bit-identical (docs/training.md)
    reproducibility=dict(type='ReproducibilityHook'),
    # training captions tokenised in the DataLoader workers by the model's
    # own tokenizer (None: tokenised in the training step; same numbers)
    tokenize_in_workers=dict(type='TokenizeInWorkersHook'),
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
# diff_rank_seed: each rank gets seed + rank for its model-side randomness
# (MIM masks, EKLSR key-local draws, IS-GVFC sampling, dropout), which would
# otherwise be identical on every rank; samplers still share one seed.
randomness = dict(seed=42, diff_rank_seed=True, deterministic=False)
