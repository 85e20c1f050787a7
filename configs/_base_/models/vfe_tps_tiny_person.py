# Tiny VFE-TPS for CPU runs on the embedded synthetic pedestrians (random
# init, no checkpoint): the towers of clip_tiny_person.py (96x32 crops,
# patch 8 -> a 12x4 grid, width 128, 3 layers, embed dim 128), a TG-MIM head
# of width 128 with 2 heads and 2 transformer layers (paper: 8 heads, 4
# layers), 16-pixel mask patches (a 6x2 mask grid, ratio 0.6 -> 8 of 12
# hidden), CMPM + TG-MIM + IS-GVFC (C = 20) with weights 1 (eq. 10), tau =
# 0.02 (the model's fixed scale).  The
# full-size model is vfe_tps_vit-b16_person.py.
_base_ = ['./clip_tiny_person.py']

model = dict(
    type='VFETPSRetriever',
    losses=dict(
        _delete_=True,
        cmpm=dict(type='CMPMLoss', mode='paper'),
        isgvfc=dict(type='ISGVFCLoss', num_samples=20)),
    # both scale by the model's fixed 1/0.02 (from clip_tiny_person.py)
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
