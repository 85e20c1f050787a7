# PIR-ITR, hard belief, paper size (docs/methods/pir.md#11-pir-itr-settings):
# Swin-T (224 px, window 7, drop path 0.1; Microsoft's ImageNet-22k weights)
# -> 1 + 7x7 = 50 tokens of 768; BERT-base (uncased) -> all tokens; a frozen
# ResNet-50 scene classifier (AID, RSP weights) -> 2048-d prior; all mapped
# to 512.  Hard belief keeps 40 of the 50 tokens; Spatial-PAE 2 steps,
# Temporal-PAE 3 steps, 8 heads, dropout 0.2; contrastive loss (positives:
# the captions of the image) on the model's logit scale + affiliation loss
# (scene labels) on a model scale of its own as released
# (separate_scale=True), both initialised at 0.07 (learnable), centre
# factor 1.
#
# Files (not downloaded; put them under data/pretrained/ or override):
#   swin_tiny_patch4_window7_224_22k.pth   Microsoft Swin-T release
#   bert-base-uncased/                     Hugging Face folder (config.json,
#                                          model weights, vocab.txt)
#   aid_28-rsp-resnet-50-ckpt.pth          RSP ResNet-50 fine-tuned on AID
#                                          (or your own prior trained with
#                                          configs/pir_itr/scene-classifier_*)
__pretrained_root = 'data/pretrained'
__bert_dir = __pretrained_root + '/bert-base-uncased'
model = dict(
    type='PIRITRRetriever',
    image_encoder=dict(
        type='SwinTransformerEncoder',
        arch='tiny',
        img_size=224,
        patch_size=4,
        window_size=7,
        drop_path_rate=0.1,
        pretrained=dict(checkpoint=__pretrained_root +
                        '/swin_tiny_patch4_window7_224_22k.pth')),
    text_encoder=dict(
        type='BertTextEncoder', model_dir=__bert_dir, use_attention_mask=True),
    tokenizer=dict(type='BertTokenizer', model_dir=__bert_dir,
                   context_length=47, padding='longest'),
    instruction_encoder=dict(
        type='SceneInstructionEncoder',
        backbone=dict(type='mmpretrain.ResNet', depth=50),
        out_dim=2048,
        frozen=True,
        norm_eval=True,
        pretrained=dict(checkpoint=__pretrained_root +
                        '/aid_28-rsp-resnet-50-ckpt.pth')),
    belief=dict(type='HardBelief', filter_size=40),
    spatial_pae=dict(type='SpatialPAE', instru_num=2, num_heads=8,
                     dropout=0.2),
    temporal_pae=dict(type='TemporalPAE', cycle_num=3, num_heads=8,
                      dropout=0.2),
    embed_dim=512,
    losses=dict(
        itc=dict(type='InfoNCELoss', label_key='image_id'),
        affil=dict(type='AffiliationLoss', separate_scale=True,
                   t2i_mode='paper', loss_weight=1.0)),
    logit_scale=dict(init_temperature=0.07, learnable=True, max_scale=100.),
    text_padding_mask=True,
)
