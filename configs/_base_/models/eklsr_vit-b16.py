# EKLSR (ACM MM'24) on CLIP ViT-B/16 for remote-sensing retrieval (RSICD,
# RSITMD), EKLSR §4.2 settings: KLSF selects alpha = 0.3 of the 196 patches
# and beta = 0.3 of the words; KLR masks tau = 0.5 of the patches and
# gamma = 0.5 of the words (polynomial selection from the importance
# factors); lambda = eta = 0.1 (eq. 18).
# Not given by the paper (our defaults, change freely): the KLSF hidden width
# (4 x 512) and dropout (0.1), the eval-time selection (top-k, see
# KeyLocalSelector), the KLR loss normalisation (mean over masked
# positions; normalize='sample' is eq. 13/17 as printed, see
# sdtr/models/heads/base_klr_head.py).
# Image KLR targets: DALL-E visual tokens (BEiT v1 tokenizer, 8192 codes) of
# the image resized to 112x112 (14x14 codes = the 14x14 patch grid); the
# official encoder weights are downloaded by init_weights() at the start of
# training (set target_generator.pretrained=None to train without them).
_base_ = ['./clip_vit-b16.py']

__dalle_encoder = ('https://download.openmmlab.com/mmselfsup/1.x/'
                   'target_generator_ckpt/dalle_encoder.pth')
__embed_dim = 512

model = dict(
    type='EKLSRRetriever',
    # <|mask|> = id 49405 (IRRA's layout) for Text KLR
    tokenizer=dict(type='CLIPTokenizer', context_length=77, mask_token=True),
    importance=dict(type='ImportanceFactor'),
    # KLSF (eq. 3-8)
    image_selector=dict(type='KeyLocalSelector', ratio=0.3,
                        mode='polynomial', eval_mode='auto'),
    text_selector=dict(type='KeyLocalSelector', ratio=0.3,
                       mode='polynomial', eval_mode='auto'),
    image_neck=dict(type='KLSFFusion', in_channels=__embed_dim,
                    hidden_channels=4 * __embed_dim, dropout=0.1),
    text_neck=dict(type='KLSFFusion', in_channels=__embed_dim,
                   hidden_channels=4 * __embed_dim, dropout=0.1),
    # Text KLR (eq. 10-13)
    text_klr_selector=dict(type='KeyLocalSelector', ratio=0.5,
                           mode='polynomial'),
    text_klr_head=dict(type='TextKLRHead', in_channels=__embed_dim,
                       vocab_size=49408, with_interaction=True,
                       loss_weight=0.1, normalize='token'),
    # Image KLR (eq. 14-17)
    image_klr_selector=dict(type='KeyLocalSelector', ratio=0.5,
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
