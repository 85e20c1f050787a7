# PIR-ITR with soft belief on RSITMD (PIR Table I, paper-reported mR 39.25).
# Everything as the hard-belief config pir-itr_swin-t-bert_2xb128_rsitmd-pir.py
# (Swin-T + BERT-base, frozen ResNet-50 AID prior, S-PAE + T-PAE, contrastive
# + affiliation loss, AdamW lr 6e-5, global batch 256) except the belief:
#   bash tools/dist_train.sh \
#       configs/pir_itr/pir-itr-soft_swin-t-bert_2xb128_rsitmd-pir.py 2
_base_ = ['./pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']

# soft belief: every token kept, weighted by belief + rank weight;
# rank_mode='paper' (own rank, channel normalisation) or 'released'
# (PIR-CLIP's code reading, docs/methods/pir.md#4-soft-belief)
model = dict(belief=dict(_delete_=True, type='SoftBelief', rank_mode='paper'))
