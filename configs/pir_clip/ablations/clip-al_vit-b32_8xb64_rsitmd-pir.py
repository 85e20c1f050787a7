# Table III "+AL": plain CLIP ViT-B/32 image tower (no instruction branch,
# no soft belief) trained with contrastive + affiliation loss on RSITMD, from
# OpenAI ViT-B/32 weights (the stage-1 PIR-CLIP checkpoint has a different
# image tower): the CLIP-baseline row plus the affiliation loss.
_base_ = ['./clip_vit-b32_8xb64_rsitmd-pir.py']

model = dict(
    type='PIRCLIPRetriever',
    instruction_encoder=None,
    text_neck=None,
    losses=dict(affil=dict(type='AffiliationLoss', t2i_mode='paper',
                           loss_weight=1.0)))
