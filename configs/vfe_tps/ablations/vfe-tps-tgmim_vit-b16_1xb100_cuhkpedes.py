# Table 6, row 2: CMPM + TG-MIM (no IS-GVFC) on CUHK-PEDES.
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(losses=dict(isgvfc=None))
