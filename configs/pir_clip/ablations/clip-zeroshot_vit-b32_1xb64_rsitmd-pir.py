# PIR Table II "CLIP" (zero-shot, pretraining WIT (CLIP), no fine-tuning) on
# RSITMD: paper-reported mR 18.50, "obtained by testing based on official
# weights" (PIR §V-D1): OpenAI CLIP ViT-B/32, test only, on PIR's RSITMD test list (452 images, the AMFMN/GaLR one).
# Test-only config (no training): make an sdtr checkpoint of the official
# weights, then test it:
#   python tools/model_converters/openclip_to_sdtr.py \
#       configs/pir_clip/ablations/clip-zeroshot_vit-b32_1xb64_rsitmd-pir.py \
#       openclip:ViT-B-32/openai work_dirs/clip_vit-b32_openai.pth
#   python tools/test.py configs/pir_clip/ablations/clip-zeroshot_vit-b32_1xb64_rsitmd-pir.py \
#       work_dirs/clip_vit-b32_openai.pth
_base_ = [
    '../../_base_/datasets/rsitmd_pir.py',
    '../../_base_/models/clip_vit-b32.py',
]

train_dataloader = None
val_dataloader = None
val_evaluator = None
test_dataloader = dict(batch_size=64)
test_cfg = dict(type='RetrievalTestLoop')
# nothing is trained: no checkpoint to select
default_hooks = dict(checkpoint=dict(save_best=None))
