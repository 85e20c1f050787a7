# PIR Table I (RSICD) "Swin-T / BERT (CL)": paper-reported mR 23.40.  The
# baseline of the PIR-ITR rows (Swin-T + BERT-base, [avg-pool] / [CLS]
# embeddings, contrastive loss only; no prior, no PAE, no affiliation loss),
# as pir-itr-baseline_swin-t-bert_2xb128_rsitmd-pir.py on RSICD.
_base_ = ['../pir-itr_swin-t-bert_2xb128_rsicd-pir.py']
model = dict(
    instruction_encoder=None,
    belief=None,
    spatial_pae=None,
    temporal_pae=None,
    losses=dict(affil=None),
)
