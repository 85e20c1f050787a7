# PIR-CLIP stage 2: fine-tune the RS5M-pretrained model (stage 1,
# pir-clip_vit-b32-rn50_8xb32_rs5m.py) on RET3 (PIR paper Table II).
# Settings: ../_base_/schedules/pir_clip_finetune_10e.py.
#   bash tools/dist_train.sh configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_ret3.py 8
_base_ = [
    '../_base_/datasets/ret3.py',
    '../_base_/models/pir_clip_vit-b32-rn50.py',
    '../_base_/datasets/pipelines/pir_clip_rs.py',
    '../_base_/schedules/pir_clip_finetune_10e.py',
]

load_from = 'work_dirs/pir-clip_vit-b32-rn50_8xb32_rs5m/epoch_20.pth'
# every weight comes from the stage-1 checkpoint (load_from): no download
model = dict(pretrained=None, instruction_encoder=dict(pretrained=None))
# open_clip's train transform, as the release (no flip)
train_pipeline = {{_base_.pir_clip_train_pipeline}}
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
