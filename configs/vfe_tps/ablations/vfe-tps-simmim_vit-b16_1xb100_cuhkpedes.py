# Fig. 5/6 comparison: SimMIM-style reconstruction without text (linear
# pixel decoder on the encoder's own patch tokens, masked-pixel L1) instead
# of TG-MIM; CMPM + IS-GVFC unchanged.  Sweep the masking ratio (Fig. 6)
# with --cfg-options model.mask_generator.mask_ratio=0.5
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(mim_head=dict(_delete_=True, type='SimMIMHead'))
