# Scene prior at the paper's size: ResNet-50 classifier on AID (30 classes)
# in the folder-of-classes layout, ImageNet-initialised via torchvision
# weights you provide.  PIR used the RSP ResNet-50 fine-tuned on AID with a
# 2:8 train:test split; make the split folders first:
#   data/aid/train/<Class>/*.jpg   data/aid/test/<Class>/*.jpg
#   python tools/train.py \
#       configs/pir_itr/scene-classifier_resnet50_1xb64_aid.py
#   python tools/test.py configs/pir_itr/scene-classifier_resnet50_1xb64_aid.py \
#       work_dirs/scene-classifier_resnet50_1xb64_aid/epoch_100.pth
# The prior is the last epoch (no val split; selecting on the test split
# would tune the prior on the images it is scored on).
# Then point model.instruction_encoder.pretrained of a PIR-ITR config at the
# resulting checkpoint (or convert a torchvision-style AID/RESISC45
# classifier with tools/model_converters/scene_classifier_to_sdtr.py).
_base_ = ['./scene-classifier_resnet18-tiny_1xb32_synthetic-scenes.py']

model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.ResNet', depth=50,
                  init_cfg=dict(type='Pretrained',
                                checkpoint='data/pretrained/'
                                'resnet50-imagenet-torchvision.pth')),
    head=dict(num_classes=30, in_channels=2048),
    data_preprocessor=dict(num_classes=30))
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224,
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='LoadImage'),
    dict(type='Resize', scale=(224, 224), interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
__aid = dict(type='SceneFolderDataset', data_root='data/aid')
train_dataloader = dict(
    batch_size=64,
    dataset=dict(_delete_=True, **__aid, split='train', test_mode=False,
                 pipeline=train_pipeline))
# AID's 2:8 protocol has no val split: nothing is selected (the last epoch
# is the prior), and the test split is only read by tools/test.py
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = dict(
    batch_size=64, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_delete_=True, **__aid, split='test',
                 pipeline=test_pipeline))
test_evaluator = dict(type='mmpretrain.Accuracy', topk=(1, ))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = dict(eta_min=1e-6)
train_cfg = dict(max_epochs=100)
default_hooks = dict(checkpoint=dict(interval=5, save_best=None))
auto_scale_lr = dict(base_batch_size=64)
