# Image-only MIM through the TG-MIM head (the released code's active
# variant: the masked-image tokens are queries, keys and values of the
# cross-attention; text guidance off).  Everything else as the paper config,
# so this isolates the text guidance of TG-MIM.
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(mim_head=dict(text_guided=False))
