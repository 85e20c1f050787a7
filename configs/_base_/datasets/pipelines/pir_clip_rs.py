# PIR-CLIP's stage-2 train transform, shared by its fine-tuning configs:
# open_clip's default train transform as the release uses it
# (RandomResizedCrop 224, scale 0.9-1, bicubic; no flip).  A library of
# building blocks (no settings): a config lists it in _base_ and writes
#   train_pipeline = {{_base_.pir_clip_train_pipeline}}
#   train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
pir_clip_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224,
         crop_ratio_range=(0.9, 1.0), interpolation='bicubic'),
    # captions tokenised here (in the workers) by the model's tokenizer
    dict(type='TokenizeCaption', tokenizer='model'),
    dict(type='PackRetrievalInputs'),
]
