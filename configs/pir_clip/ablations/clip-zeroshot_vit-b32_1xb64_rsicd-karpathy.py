# PIR Table II "CLIP" (zero-shot, pretraining WIT (CLIP), no fine-tuning) on
# RSICD: paper-reported mR 13.64, "obtained by testing based on official
# weights" (PIR §V-D1): OpenAI CLIP ViT-B/32, test only, on the RSICD release's test split (1,093 images), which the PIR-CLIP release's retrieval.py evaluates.
# Test-only config (no training): make an sdtr checkpoint of the official
# weights, then test it:
#   python tools/model_converters/openclip_to_sdtr.py \
#       configs/pir_clip/ablations/clip-zeroshot_vit-b32_1xb64_rsicd-karpathy.py \
#       openclip:ViT-B-32/openai work_dirs/clip_vit-b32_openai.pth
#   python tools/test.py configs/pir_clip/ablations/clip-zeroshot_vit-b32_1xb64_rsicd-karpathy.py \
#       work_dirs/clip_vit-b32_openai.pth
_base_ = [
    '../../_base_/datasets/rsicd_karpathy.py',
    '../../_base_/models/clip_vit-b32.py',
]

train_dataloader = None
val_dataloader = None
val_evaluator = None
test_dataloader = dict(batch_size=64)
test_cfg = dict(type='RetrievalTestLoop')
# nothing is trained: no checkpoint to select
default_hooks = dict(checkpoint=dict(save_best=None))
