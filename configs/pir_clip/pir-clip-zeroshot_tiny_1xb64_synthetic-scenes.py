# Zero-shot scene classification (top-1/top-5) of the tiny PIR-CLIP on the
# synthetic folder-of-classes scenes (AID/RESISC45/UCM/EuroSAT layout).
# Works for any sdtr retriever: swap `model` (e.g. the CLIP quickstart).
#   sdtr-make-synthetic scenes --out-dir data/synthetic_scenes
#   python tools/test.py configs/pir_clip/pir-clip-zeroshot_tiny_1xb64_synthetic-scenes.py CKPT
# Real data: data_root='data/AID' with split=None (AID has no split folders),
# templates='rs' (8 satellite/aerial templates) or a list of "...{}..."
# strings.
_base_ = [
    '../_base_/models/pir_clip_tiny.py',
    '../_base_/default_runtime.py',
]

test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(64, 64), interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
test_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SceneFolderDataset',
                 data_root='data/synthetic_scenes',
                 split='test',
                 templates='rs',
                 pipeline=test_pipeline))
test_evaluator = dict(type='ZeroShotAccuracy', topk=(1, 5))
test_cfg = dict(type='ZeroShotClassificationLoop')
env_cfg = dict(dist_cfg=dict(backend='gloo'))
