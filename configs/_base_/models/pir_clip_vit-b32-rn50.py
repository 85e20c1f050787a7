# PIR-CLIP (docs/methods/pir.md#13-pir-clip-model): CLIP ViT-B/32 whose
# tokens (after ln_pre) are re-weighted by the soft belief against an
# instruction embedding from a CLIP ModifiedResNet-50 (attention pool -> 512,
# linear 512 -> 768), the instruction token prepended; plain CLIP text tower;
# contrastive + affiliation loss (scene labels) on the model's learnable,
# clamped logit scale (loaded from the CLIP checkpoint).
#
# Weights: the ViT and text towers from OpenAI's ViT-B/32 (any open_clip-format
# ViT-B/32 works: RemoteCLIP, GeoRSCLIP -> change `pretrained.checkpoint`);
# the ResNet trunk from OpenAI's RN50 visual tower, except
# attnpool.c_proj.{weight,bias} (1024 outputs there, 512 here), which stay
# randomly initialised and are reported (only these two may be: any other
# shape mismatch is an error).  The paper uses an AID-trained ResNet-50 (not
# published): put an open_clip-format RN50 checkpoint of it in
# instruction_encoder.pretrained.checkpoint.  Both are named as in
# open_clip's pretrained registry and fetched only in init_weights (start of
# training), from the Hugging Face hub (OpenAI's URL as fallback), SHA-256
# checked (docs/pretrained_weights.md); never at build time.
#
# Activation: act='quick_gelu' because the towers start from OpenAI weights,
# which were trained with QuickGELU.  The *released* PIR-CLIP checkpoints
# were trained as open_clip's "PIR" model, whose config does not set
# quick_gelu, i.e. with plain GELU: to evaluate or fine-tune them set
# image_encoder.act='gelu' and text_encoder.act='gelu' (plus
# image_encoder.belief.rank_mode='released');
# tools/model_converters/pir_clip_to_sdtr.py prints these options and stores
# them in the converted checkpoint's meta['cfg_options'].
#
# Switches (paper default / released):
#   image_encoder.belief.rank_mode  'paper' | 'released'   (soft belief)
#   image_encoder.pool              'instruction' (released) | 'class'
#   instruction_encoder.freeze_trunk True (paper §V-C) | False (released)
#   text_neck=dict(type='TemporalPAE', dim=512)  optional T-PAE on the text
#                                   tokens (not in the release, nor in the
#                                   paper's 189M parameter count)
#   losses=dict(affil=None)         drops the affiliation loss
#   losses=dict(itc=dict(label_key=None))  one-hot contrastive targets as the
#                                   released ClipLoss (the other captions of
#                                   the image in the batch are negatives)
model = dict(
    type='PIRCLIPRetriever',
    image_encoder=dict(
        type='PIRCLIPVisionTransformer',
        arch='ViT-B-32',
        image_size=224,
        patch_size=32,
        act='quick_gelu',
        belief=dict(type='SoftBelief', rank_mode='paper'),
        pool='instruction'),
    instruction_encoder=dict(
        type='PIRInstructionEncoder',
        resnet=dict(type='CLIPModifiedResNet', arch='RN50', image_size=224,
                    embed_dim=512),
        out_dim=768,
        freeze_trunk=True,
        # OpenAI RN50's attention-pool output is 1024 wide, 512 here: only
        # these tensors may keep their initialisation (shape differs)
        pretrained=dict(checkpoint='openclip:RN50/openai',
                        reinit_keys=[r'^attnpool\.c_proj\.'])),
    text_encoder=dict(
        type='CLIPTextTransformer',
        arch='ViT-B-32',
        context_length=77,
        act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=77),
    losses=dict(
        itc=dict(type='InfoNCELoss'),
        affil=dict(type='AffiliationLoss', t2i_mode='paper', loss_weight=1.0)),
    logit_scale=dict(init_temperature=0.07, learnable=True, max_scale=100.),
    text_neck=None,
    pretrained=dict(checkpoint='openclip:ViT-B-32/openai'),
)
