# Tiny EKLSR for the synthetic quickstart and CPU tests: the towers of
# clip_tiny.py (random init, 64x64 images, 8x8 patch grid, width 128,
# embedding 128) plus KLSF and KLR at the RSITR ratios (alpha = beta = 0.3,
# tau = gamma = 0.5, lambda = eta = 0.1) and a small randomly initialised
# DALL-E encoder (hidden width 16, one block per group, 1024 codes) as the
# visual tokenizer: its codes are a fixed function of the image, which is
# all the reconstruction task needs to be learnable.
_base_ = ['./clip_tiny.py']

__embed_dim = 128

model = dict(
    type='EKLSRRetriever',
    tokenizer=dict(type='CLIPTokenizer', context_length=32, mask_token=True),
    importance=dict(type='ImportanceFactor'),
    image_selector=dict(type='KeyLocalSelector', ratio=0.3),
    text_selector=dict(type='KeyLocalSelector', ratio=0.3),
    image_neck=dict(type='KLSFFusion', in_channels=__embed_dim,
                    hidden_channels=4 * __embed_dim, dropout=0.1),
    text_neck=dict(type='KLSFFusion', in_channels=__embed_dim,
                   hidden_channels=4 * __embed_dim, dropout=0.1),
    text_klr_selector=dict(type='KeyLocalSelector', ratio=0.5),
    text_klr_head=dict(type='TextKLRHead', in_channels=__embed_dim,
                       vocab_size=49408, loss_weight=0.1),
    image_klr_selector=dict(type='KeyLocalSelector', ratio=0.5),
    image_klr_head=dict(type='ImageKLRHead', in_channels=__embed_dim,
                        mask_channels=128, vocab_size=1024, loss_weight=0.1),
    target_generator=dict(
        type='DALLETargetGenerator', group_count=4, n_hid=16,
        n_blk_per_group=1, vocab_size=1024),
)
