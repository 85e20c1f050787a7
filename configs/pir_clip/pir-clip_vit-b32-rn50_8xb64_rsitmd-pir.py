# PIR-CLIP stage 2 (PIR Table II, RSITMD): fine-tune on RSITMD from the
# stage-1 RS5M model (pir-clip-stage1_vit-b32_8xb32_rs5m.py, plain CLIP: its
# image and text towers are loaded with load_from; the instruction ResNet-50
# comes from model.instruction_encoder.pretrained, OpenAI RN50 in place of
# the paper's unpublished AID-trained one, trunk frozen).  Data: PIR split
# (3,435 / 856 / 452 images).  Settings (10 epochs, batch 512, 'other
# settings the same as PIR-ITR'):
# ../_base_/schedules/pir_clip_finetune_10e.py.
#   bash tools/dist_train.sh configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_rsitmd-pir.py 8
_base_ = [
    '../_base_/datasets/rsitmd_pir.py',
    '../_base_/models/pir_clip_vit-b32-rn50.py',
    '../_base_/datasets/pipelines/pir_clip_rs.py',
    '../_base_/schedules/pir_clip_finetune_10e.py',
]

load_from = 'work_dirs/pir-clip-stage1_vit-b32_8xb32_rs5m/epoch_20.pth'
# the stage-1 checkpoint has no instruction branch: it is initialised by
# its own `pretrained` and left out of load_from on purpose
load_cfg = dict(ignore_keys=[r'^instruction_encoder\.'])
# the towers come from the stage-1 checkpoint (load_from): no CLIP download
model = dict(pretrained=None)
# open_clip's train transform, as the release (no flip)
train_pipeline = {{_base_.pir_clip_train_pipeline}}
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
