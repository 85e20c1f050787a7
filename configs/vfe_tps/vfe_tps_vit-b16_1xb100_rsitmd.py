# VFE-TPS components on remote sensing (RSITMD), to show they are
# domain-free: CLIP ViT-B/16 at 224x224 (14x14 patch grid; 32-px mask
# patches -> a 7x7 mask grid), CMPM + TG-MIM + IS-GVFC with the image id as
# the "identity" (pid == image_id for remote-sensing data, so the 5 captions
# of an image are its positives and IS-GVFC separates different images).
# Not in the paper: no reported numbers.  Other settings as the person
# configs (Adam lr 1e-5, batch 100, IRRA's schedule) but 10 epochs like the
# remote-sensing CLIP baseline.
_base_ = [
    '../_base_/datasets/rsitmd.py',
    '../_base_/models/vfe_tps_vit-b16_person.py',
    '../_base_/schedules/irra_adam_cosine_60e.py',
    '../_base_/default_runtime.py',
]

model = dict(image_encoder=dict(image_size=224))
# IRRA's schedule scaled to 10 epochs: 1 warm-up epoch, then cosine
param_scheduler = dict(warmup_epochs=1)
train_cfg = dict(max_epochs=10)
train_dataloader = dict(batch_size=100)
auto_scale_lr = dict(base_batch_size=100)
default_hooks = dict(checkpoint=dict(save_best='rsitr/mR', rule='greater'))
