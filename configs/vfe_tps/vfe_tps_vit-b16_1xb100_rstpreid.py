# VFE-TPS on RSTPReid (paper Table 3); settings as the CUHK-PEDES config.
_base_ = [
    '../_base_/datasets/rstpreid.py',
    '../_base_/models/vfe_tps_vit-b16_person.py',
    '../_base_/schedules/irra_adam_cosine_60e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=100)
auto_scale_lr = dict(base_batch_size=100)
default_hooks = dict(checkpoint=dict(save_best='person/R@1', rule='greater'))
