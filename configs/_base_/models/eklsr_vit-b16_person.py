# EKLSR (ACM MM'24) on CLIP ViT-B/16 for text-based person search
# (CUHK-PEDES, ICFG-PEDES, RSTPReid), EKLSR §4.2 settings: 384x128 crops
# (24x8 = 192 patches), KLSF alpha = 0.55 / beta = 0.70, KLR tau = 0.2 /
# gamma = 0.2, lambda = eta = 0.1.  The contrastive loss (eq. 9) is the
# baseline's InfoNCE with identity positives (fixed scale 50).  DALL-E
# tokenizes the crop resized to 192x64, i.e. a 24x8 code grid aligned with
# the patches (the conv encoder accepts non-square inputs).
# Defaults not given by the paper: see eklsr_vit-b16.py.
_base_ = ['./clip_vit-b16_person.py']

__dalle_encoder = ('https://download.openmmlab.com/mmselfsup/1.x/'
                   'target_generator_ckpt/dalle_encoder.pth')
__embed_dim = 512

model = dict(
    type='EKLSRRetriever',
    tokenizer=dict(type='CLIPTokenizer', context_length=77, mask_token=True),
    importance=dict(type='ImportanceFactor'),
    image_selector=dict(type='KeyLocalSelector', ratio=0.55,
                        mode='polynomial', eval_mode='auto'),
    text_selector=dict(type='KeyLocalSelector', ratio=0.70,
                       mode='polynomial', eval_mode='auto'),
    image_neck=dict(type='KLSFFusion', in_channels=__embed_dim,
                    hidden_channels=4 * __embed_dim, dropout=0.1),
    text_neck=dict(type='KLSFFusion', in_channels=__embed_dim,
                   hidden_channels=4 * __embed_dim, dropout=0.1),
    text_klr_selector=dict(type='KeyLocalSelector', ratio=0.2,
                           mode='polynomial'),
    text_klr_head=dict(type='TextKLRHead', in_channels=__embed_dim,
                       vocab_size=49408, with_interaction=True,
                       loss_weight=0.1, normalize='token'),
    image_klr_selector=dict(type='KeyLocalSelector', ratio=0.2,
                            mode='polynomial'),
    image_klr_head=dict(type='ImageKLRHead', in_channels=__embed_dim,
                        mask_channels=768, vocab_size=8192,
                        with_interaction=True, loss_weight=0.1,
                        normalize='token'),
    target_generator=dict(
        type='DALLETargetGenerator', group_count=4, n_hid=256,
        n_blk_per_group=2, vocab_size=8192,
        pretrained=dict(checkpoint=__dalle_encoder)),
)
