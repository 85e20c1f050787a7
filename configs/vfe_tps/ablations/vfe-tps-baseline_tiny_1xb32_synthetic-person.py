# Tiny VFE-TPS baseline (Table 6, first row: no auxiliary task, CMPM only)
# on the embedded synthetic pedestrians; everything else as
# vfe-tps_tiny_1xb32_synthetic-person.py.
#   python tools/train.py configs/vfe_tps/ablations/vfe-tps-baseline_tiny_1xb32_synthetic-person.py
_base_ = ['../vfe-tps_tiny_1xb32_synthetic-person.py']

model = dict(mim_head=None, losses=dict(isgvfc=None))
