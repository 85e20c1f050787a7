# PIR-ITR as released (docs/methods/pir.md#12-pir-itr-release):
# the ResNet prior is never loaded (frozen random ResNet-50 whose BatchNorm
# statistics drift in train mode), BERT sees no attention mask, the
# Temporal-PAE attends the padding, centres are per-rank, the
# affiliation text-to-image term has the transposition of the release, and
# RandomAugment's AutoContrast wraps the negated uint8 minimum (every channel
# whose minimum is above 0 turns white; jaychempan/PIR dataset/randaugment.py,
# autocontrast_func).
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(pretrained=None, norm_eval=False),
    text_encoder=dict(use_attention_mask=False),
    text_padding_mask=False,
    losses=dict(affil=dict(t2i_mode='released_pir_itr', local_centers=True)))
pir_train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224,
         crop_ratio_range=(0.5, 1.0), interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomAugment', num_ops=2, magnitude=7,
         autocontrast='released'),
    dict(type='PreCaption', max_words=30),
    dict(type='PackRetrievalInputs'),
]
train_pipeline = pir_train_pipeline
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
