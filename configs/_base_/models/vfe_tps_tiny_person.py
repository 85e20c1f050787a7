# Tiny VFE-TPS for CPU runs on the embedded synthetic pedestrians (random
# init, no checkpoint): the towers of clip_tiny_person.py (96x32 crops,
# patch 8 -> a 12x4 grid, width 128, 3 layers, embed dim 128), a TG-MIM head
# of width 128 with 2 heads and 2 transformer layers (paper: 8 heads, 4
# layers), 16-pixel mask patches (a 6x2 mask grid, ratio 0.6 -> 8 of 12
# hidden), CMPM + TG-MIM + IS-GVFC (C = 20) with weights 1 (eq. 10).
model = dict(
    type='VFETPSRetriever',
    image_encoder=dict(
        type='CLIPVisionTransformer',
        arch=None,
        image_size=(96, 32),
        patch_size=8,
        width=128,
        layers=3,
        heads=2,
        embed_dim=128,
        act='quick_gelu'),
    text_encoder=dict(
        type='CLIPTextTransformer',
        arch=None,
        context_length=32,
        vocab_size=49408,
        width=128,
        heads=2,
        layers=3,
        embed_dim=128,
        act='quick_gelu'),
    tokenizer=dict(type='CLIPTokenizer', context_length=32),
    losses=dict(
        cmpm=dict(type='CMPMLoss', mode='paper', temperature=0.02),
        isgvfc=dict(type='ISGVFCLoss', num_samples=20, temperature=0.02)),
    logit_scale=None,  # both losses have their own temperature
    mim_head=dict(
        type='TGMIMHead',
        embed_dims=128,
        num_heads=2,
        num_layers=2,
        text_guided=True,
        use_key_padding_mask=True,
        loss_weight=1.0),
    mask_generator=dict(
        type='PatchMaskGenerator',
        mask_ratio=0.6,
        mask_patch_size=16,
        mode='pixel'),
)
