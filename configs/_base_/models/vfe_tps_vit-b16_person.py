# VFE-TPS (Shen et al., arXiv 2412.20646, §3 and §4.3) for text-based person
# search: the towers of clip_vit-b16_person.py (CLIP ViT-B/16 + CLIP text
# transformer, OpenAI weights, QuickGELU, 384x128 crops -> a 24x8 patch
# grid, text length 77), trained with eq. 10 = CMPM (eq. 6-9) + TG-MIM
# (eq. 1-3) + IS-GVFC (eq. 4-5), weights 1.
#
# Paper settings: MCA with H = 8 heads followed by 4 transformer layers,
# C = 20 image pairs for IS-GVFC, masking ratio 0.5-0.6 (0.6 and 32-pixel
# mask patches as the released code), masked pixels set to zero.  The
# paper gives no temperature: tau = 0.02, the model's fixed scale 50 (the
# code base's).
_base_ = ['./clip_vit-b16_person.py']

model = dict(
    type='VFETPSRetriever',
    losses=dict(
        _delete_=True,
        # cross-modal global alignment (§3.3)
        cmpm=dict(type='CMPMLoss', mode='paper'),
        # identity-supervised global visual feature calibration (§3.2.2),
        # on the global visual features only (ISGVFCLoss.inputs = ('img',))
        isgvfc=dict(type='ISGVFCLoss', num_samples=20)),
    # both scale by the model's fixed 1/0.02 (from clip_vit-b16_person.py)
    # text-guided masked image modelling (§3.2.1)
    mim_head=dict(
        type='TGMIMHead',
        embed_dims=512,
        num_heads=8,
        num_layers=4,
        text_guided=True,
        use_key_padding_mask=True,
        loss_weight=1.0),
    mask_generator=dict(
        type='PatchMaskGenerator',
        mask_ratio=0.6,
        mask_patch_size=32,
        mode='pixel'),
)
