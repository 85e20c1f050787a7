# PIR-CLIP stage-2 (fine-tuning) schedule (the configs start from the
# stage-1 RS5M checkpoint with `load_from`): 10 epochs, batch 512 = 8 x 64
# (PIR paper §V-C), AdamW lr 1e-5, wd 0.5, cosine after a linear warm-up
# over the first epoch (10% of the steps: "other settings are the same as
# for PIR-ITR"), AMP
# (unverified here: no GPU).  The best epoch is selected on val (never test).
# Also defines the release's open_clip train transform
# (RandomResizedCrop(224, scale 0.9-1, bicubic), no flip) for the configs.
_base_ = ['./pir_clip_adamw_cosine.py']

max_epochs = 10
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=True, begin=1,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
pir_clip_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224,
         crop_ratio_range=(0.9, 1.0), interpolation='bicubic'),
    dict(type='PackRetrievalInputs'),
]
