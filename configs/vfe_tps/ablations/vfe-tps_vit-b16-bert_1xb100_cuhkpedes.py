# VFE-TPS Table 1 "baseline (ours)": the VFE-TPS architecture on ViT + BERT
# (paper-reported R@1 70.12, mAP 63.69); recipe as vfe-tps_vit-b16_1xb100_cuhkpedes.py, model
# ../../_base_/models/vfe_tps_vit-b16-bert_person.py (the choices the paper
# leaves open are listed there).
_base_ = [
    '../../_base_/datasets/cuhkpedes.py',
    '../../_base_/models/vfe_tps_vit-b16-bert_person.py',
    '../../_base_/schedules/irra_adam_cosine_60e.py',
]

# random batches of 100 pairs, as the CLIP rows
train_dataloader = dict(batch_size=100)
auto_scale_lr = dict(base_batch_size=100)

