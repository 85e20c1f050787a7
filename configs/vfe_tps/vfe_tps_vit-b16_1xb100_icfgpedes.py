# VFE-TPS on ICFG-PEDES (paper Table 2); settings as the CUHK-PEDES config.
# ICFG-PEDES has no val split: train without validation and keep the last
# checkpoint (the released code's default `--val_dataset val` breaks here;
# selecting on test is not done).
_base_ = [
    '../_base_/datasets/icfgpedes.py',
    '../_base_/models/vfe_tps_vit-b16_person.py',
    '../_base_/schedules/irra_adam_cosine_60e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=100)
auto_scale_lr = dict(base_batch_size=100)
val_cfg = None
val_dataloader = None
val_evaluator = None
default_hooks = dict(checkpoint=dict(save_best=None, save_last=True))
