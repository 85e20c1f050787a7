# PIR-CLIP stage 1 as released (NOT the paper's stage 1, which is plain
# CLIP with the contrastive loss: pir-clip-stage1_vit-b32_8xb32_rs5m.py):
# the README's command pre-trains the whole PIR-CLIP (--model PIR, soft
# belief ViT-B/32 + RN50 instruction branch) with the affiliation loss
# (--is_aff_loss) on RS5M (jaychempan/PIR-CLIP @9554baf, README).  Batch,
# epoch length, schedule and initialisation as the paper config (OpenAI
# ViT-B/32 + RN50, c_proj re-initialised).  Fine-tune from it with the
# stage-2 configs and --cfg-options
# load_from=work_dirs/pir-clip-stage1-released_vit-b32-rn50_8xb32_rs5m/epoch_20.pth
# load_cfg.ignore_keys=[] (its checkpoint holds the instruction branch).
#   bash tools/dist_train.sh configs/pir_clip/ablations/pir-clip-stage1-released_vit-b32-rn50_8xb32_rs5m.py 8
_base_ = [
    '../../_base_/datasets/rs5m_shards.py',
    '../../_base_/models/pir_clip_vit-b32-rn50.py',
    '../../_base_/schedules/pir_clip_adamw_cosine.py',
]

train_dataloader = dict(batch_size=32, dataset=dict(epoch_size=1_000_000))
