# PIR Table III (RSITMD) "+T-PAE": paper-reported mR 36.95.
# The full model (+S-PAE+T-PAE+AL, mR 38.24) is
# configs/pir_itr/pir-itr_swin-t-bert_2xb128_rsitmd-pir.py.
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
model = dict(
    instruction_encoder=None,
    belief=None,
    spatial_pae=None,
    losses=dict(affil=None),
)
