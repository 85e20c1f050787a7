# PIR-CLIP (PIR paper §IV-C3, §V-C; upstream_facts §2): CLIP ViT-B/32 whose
# tokens (after ln_pre) are re-weighted by the soft belief against an
# instruction embedding from a CLIP ModifiedResNet-50 (attention pool -> 512,
# linear 512 -> 768), the instruction token prepended; plain CLIP text tower;
# contrastive + affiliation loss on the same (learnable, clamped) scale.
#
# Weights: the ViT and text towers from OpenAI's ViT-B/32 (any open_clip-format
# ViT-B/32 works: RemoteCLIP, GeoRSCLIP -> change `pretrained.checkpoint`);
# the ResNet trunk from OpenAI's RN50 visual tower, except
# attnpool.c_proj.{weight,bias} (1024 outputs there, 512 here), which stay
# randomly initialised and are reported.  The paper uses an AID-trained
# ResNet-50 (not published): put an open_clip-format RN50 checkpoint of it in
# instruction_encoder.pretrained.checkpoint.  Downloads happen only in
# init_weights (start of training), never at build time.
#
# Switches (paper default / released):
#   image_encoder.belief.rank_mode  'paper' | 'released'   (soft belief)
#   image_encoder.pool              'instruction' (released) | 'class'
#   instruction_encoder.freeze_trunk True (paper §V-C) | False (released)
#   text_neck=dict(type='TemporalPAE', dim=512)  optional T-PAE on the text
#                                   tokens (not in the release, nor in the
#                                   paper's 189M parameter count)
#   affiliation_loss=None           drops the affiliation loss
__openai_vit_b32 = (
    'https://openaipublic.azureedge.net/clip/models/'
    '40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af/'
    'ViT-B-32.pt')
__openai_rn50 = (
    'https://openaipublic.azureedge.net/clip/models/'
    'afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/'
    'RN50.pt')

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
        pretrained=dict(checkpoint=__openai_rn50, check_hash=True,
                        reinit_mismatched=True)),
    text_encoder=dict(
        type='CLIPTextTransformer',
        arch='ViT-B-32',
        context_length=77,
        act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=77),
    losses=dict(itc=dict(type='InfoNCELoss', temperature=0.07,
                         learnable=True)),
    label_key='pid',
    text_neck=None,
    affiliation_loss=dict(type='AffiliationLoss', t2i_mode='paper',
                          loss_weight=1.0),
    share_logit_scale=True,
    scene_label_key='label',
    pretrained=dict(checkpoint=__openai_vit_b32, check_hash=True),
)
