# PIR-ITR with hard belief on RSICD (PIR Table I, paper-reported mR 24.46).
# Swin-T + BERT-base, frozen ResNet-50 AID scene prior, Spatial-PAE (2) +
# Temporal-PAE (3),
# contrastive + affiliation loss; AdamW lr 6e-5, 10% warm-up then linear decay,
# 50 epochs,
# global batch 256 = 2 GPUs x 128:
#   bash tools/dist_train.sh \
#       configs/pir_itr/pir-itr_swin-t-bert_2xb128_rsicd-pir.py 2
# Split: PIR's (../_base_/datasets/rsicd_pir.py): train 7,862 / val 1,966
# (carved out of the 9,828 AMFMN/GaLR train images) / test 1,093 (the
# AMFMN/GaLR test list).
_base_ = [
    '../_base_/datasets/rsicd_pir.py',
    '../_base_/datasets/pipelines/pir_rs.py',
    '../_base_/models/pir_itr_swin-t-bert.py',
    '../_base_/schedules/pir_adamw_linear_warmup.py',
]

# PIR's train/test transforms: configs/_base_/datasets/pipelines/pir_rs.py
train_pipeline = {{_base_.pir_train_pipeline}}
test_pipeline = {{_base_.pir_test_pipeline}}
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=128, dataset=dict(pipeline=test_pipeline))
