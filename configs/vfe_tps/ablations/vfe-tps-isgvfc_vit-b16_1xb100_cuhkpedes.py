# Table 6, row 3: CMPM + IS-GVFC (no TG-MIM) on CUHK-PEDES.
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(mim_head=None)
