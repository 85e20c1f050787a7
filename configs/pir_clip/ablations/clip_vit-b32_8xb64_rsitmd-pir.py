# PIR Table III "CLIP-baseline" (PIR-CLIP without the soft-belief ViT and the
# affiliation loss) = Table II "CLIP-FT" on RSITMD: OpenAI CLIP ViT-B/32
# fine-tuned on RSITMD with the contrastive loss only, same schedule as
# PIR-CLIP fine-tuning (its 45.35 mR equals Table II's CLIP-FT row, i.e. no
# RS5M stage).
_base_ = [
    '../../_base_/datasets/rsitmd_pir.py',
    '../../_base_/models/clip_vit-b32.py',
    '../../_base_/datasets/pipelines/pir_clip_rs.py',
    '../../_base_/schedules/pir_clip_finetune_10e.py',
]

# open_clip's train transform, as the release (no flip)
train_pipeline = {{_base_.pir_clip_train_pipeline}}
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
