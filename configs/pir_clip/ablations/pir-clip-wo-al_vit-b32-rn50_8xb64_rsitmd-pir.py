# Table III "+S-PAE": PIR-CLIP (soft-belief ViT + instruction token) without
# the affiliation loss, fine-tuned on RSITMD from the stage-1 checkpoint
# (assumption: the ablation rows start from the same RS5M model as the full
# row, which the paper does not state).
_base_ = ['../pir-clip_vit-b32-rn50_8xb64_rsitmd-pir.py']

model = dict(losses=dict(affil=None))
