# PIR-ITR as released (docs/methods/pir.md#12-pir-itr-release):
# the ResNet prior is never loaded (frozen random ResNet-50 whose BatchNorm
# statistics drift in train mode), BERT sees no attention mask, the
# Temporal-PAE attends the padding, centres are per-rank and the
# affiliation text-to-image term has the transposition of the release.
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=dict(pretrained=None, norm_eval=False),
    text_encoder=dict(use_attention_mask=False),
    text_padding_mask=False,
    losses=dict(affil=dict(t2i_mode='released_pir_itr', local_centers=True)))
