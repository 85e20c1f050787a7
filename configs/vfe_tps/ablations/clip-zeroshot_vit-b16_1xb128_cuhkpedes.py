# VFE-TPS Table 5 "Zero-shot CLIP" on CUHK-PEDES: paper-reported R@1 12.61,
# mAP 12.36.  "We initialize our model using pre-trained CLIP weights and
# then freeze these model weights" (§4.5.1): OpenAI CLIP ViT-B/16 at
# 384x128 (position embedding interpolated to 24x8), global features only,
# nothing trained.  Test-only config: make an sdtr checkpoint of the official
# weights, then test it:
#   python tools/model_converters/openclip_to_sdtr.py \
#       configs/vfe_tps/ablations/clip-zeroshot_vit-b16_1xb128_cuhkpedes.py \
#       openclip:ViT-B-16/openai work_dirs/clip_vit-b16_openai_person.pth
#   python tools/test.py configs/vfe_tps/ablations/clip-zeroshot_vit-b16_1xb128_cuhkpedes.py \
#       work_dirs/clip_vit-b16_openai_person.pth
_base_ = [
    '../../_base_/datasets/cuhkpedes.py',
    '../../_base_/models/clip_vit-b16_person.py',
]

train_dataloader = None
# nothing is trained: the base's train pipeline becomes the test one (a
# building block no loader used would be a dead key)
train_pipeline = {{_base_.test_pipeline}}
val_dataloader = None
val_evaluator = None
test_cfg = dict(type='RetrievalTestLoop')
# nothing is trained: no checkpoint to select
default_hooks = dict(checkpoint=dict(save_best=None))
