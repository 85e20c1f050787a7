# Table 6, row 1: no auxiliary task (CLIP + CMPM only) on CUHK-PEDES.
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(mim_head=None, losses=dict(isgvfc=None))
