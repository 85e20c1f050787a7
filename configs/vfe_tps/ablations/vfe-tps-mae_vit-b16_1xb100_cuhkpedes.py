# Fig. 5/6 comparison: MAE-style reconstruction without text instead of
# TG-MIM: the image encoder sees only the visible patches (mask generator
# mode 'drop'), a 4-block decoder (width 512, 8 heads, fixed 2-D sin-cos
# positions, learnable mask token) predicts the pixels, L2 on masked pixels
# (MAE).  CMPM + IS-GVFC unchanged.  Sweep the masking ratio (Fig. 6) with
# --cfg-options model.mask_generator.mask_ratio=0.5
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(
    mim_head=dict(_delete_=True, type='MAEHead', decoder_embed_dims=512,
                  num_layers=4, num_heads=8),
    mask_generator=dict(mode='drop'))
