# Tiny PIR-CLIP for the synthetic recipe and CPU tests (random init, no
# checkpoint): the tiny CLIP towers of clip_tiny.py (64x64 images, ViT patch
# 8, width 128, 3 layers; text width 128, context 32), a tiny CLIP
# ModifiedResNet instruction encoder (one bottleneck per stage, stem width 8,
# attention pool -> 64) mapped 64 -> 128 (the ViT width), the soft belief in
# the paper reading and the affiliation loss (scene labels) on the model's
# logit scale, which the contrastive loss of clip_tiny.py uses too.
_base_ = ['./clip_tiny.py']

model = dict(
    type='PIRCLIPRetriever',
    image_encoder=dict(
        type='PIRCLIPVisionTransformer',
        belief=dict(type='SoftBelief', rank_mode='paper'),
        pool='instruction'),
    instruction_encoder=dict(
        type='PIRInstructionEncoder',
        resnet=dict(type='CLIPModifiedResNet', arch=None, image_size=64,
                    layers=[1, 1, 1, 1], width=8, embed_dim=64),
        out_dim=128,
        # trained from scratch here (no AID/RN50 weights), so not frozen
        freeze_trunk=False),
    text_neck=None,
    losses=dict(affil=dict(type='AffiliationLoss', t2i_mode='paper')),
)
