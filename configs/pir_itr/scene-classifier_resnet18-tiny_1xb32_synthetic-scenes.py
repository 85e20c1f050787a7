# Train your own PIR scene prior: an mmpretrain image classifier (tiny
# ResNet-18, widths 16..128) on the embedded synthetic folder-of-classes
# scenes (10 classes, generated on first use), CPU in about a minute:
#   python tools/train.py --work-dir work_dirs/scene_prior_tiny \
#     configs/pir_itr/scene-classifier_resnet18-tiny_1xb32_synthetic-scenes.py
# then load the checkpoint as the instruction encoder of the tiny PIR-ITR:
#   python tools/train.py \
#       configs/pir_itr/pir-itr_swin-tiny-minilm_1xb32_synthetic-rs.py \
#       --cfg-options model.instruction_encoder.pretrained=\
#   work_dirs/scene_prior_tiny/epoch_6.pth      (one argument, no space)
# (SceneInstructionEncoder loads the `backbone.*` keys strictly and reports
# the dropped classifier head).  The backbone config must equal the
# instruction encoder's (configs/_base_/models/pir_itr_tiny.py).
_base_ = ['../_base_/default_runtime.py']

__num_classes = 10
__img_size = 64
model = dict(
    type='mmpretrain.ImageClassifier',
    backbone=dict(type='mmpretrain.ResNet', depth=18, base_channels=16,
                  stem_channels=16),
    neck=dict(type='mmpretrain.GlobalAveragePooling'),
    head=dict(
        type='mmpretrain.LinearClsHead',
        num_classes=__num_classes,
        in_channels=128,
        loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0)),
    # same normalisation as the retriever's data preprocessor (CLIP mean /
    # std, BGR -> RGB), so the prior sees the images the way PIR-ITR does
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        mean=[122.770938, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        to_rgb=True,
        num_classes=__num_classes))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=__img_size,
         crop_ratio_range=(0.7, 1.0), interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(__img_size, __img_size),
         interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
__synthetic_scenes = dict(type='SyntheticSceneFolderDataset',
                          train_per_class=24,
                          test_per_class=8, img_size=__img_size,
                          num_scenes=__num_classes)
train_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='SeededSampler', shuffle=True),
    dataset=dict(__synthetic_scenes, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(__synthetic_scenes, split='test', pipeline=test_pipeline))
val_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

optim_wrapper = dict(
    constructor='MergedGroupsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
# cosine to 1e-5 over the run (no warm-up); `end` follows train_cfg
param_scheduler = dict(
    type='WarmupAnnealingLR', anneal='cosine', eta_min=1e-5, by_epoch=True,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=6, val_interval=3)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    logger=dict(interval=5),
    checkpoint=dict(interval=3, max_keep_ckpts=1, save_best='auto'))
env_cfg = dict(dist_cfg=dict(backend='gloo'))
# lr above is for this total batch (tools/train.py --auto-scale-lr)
auto_scale_lr = dict(base_batch_size=32, enable=False)
