# PIR Table II "CLIP-FT" on RSICD: OpenAI CLIP ViT-B/32 fine-tuned on RSICD
# with the contrastive loss only (pretraining "WIT (CLIP)", no RS5M stage),
# with the data and schedule of PIR-CLIP's RSICD row
# (pir-clip_vit-b32-rn50_8xb64_rsicd-karpathy.py: the RSICD release's
# split, 10 epochs, batch 512); its RSITMD row is
# clip_vit-b32_8xb64_rsitmd-pir.py.
_base_ = [
    '../../_base_/datasets/rsicd_karpathy.py',
    '../../_base_/models/clip_vit-b32.py',
    '../../_base_/datasets/pipelines/pir_clip_rs.py',
    '../../_base_/schedules/pir_clip_finetune_10e.py',
]

# open_clip's train transform, as the release (no flip)
train_pipeline = {{_base_.pir_clip_train_pipeline}}
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
