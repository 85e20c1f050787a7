# VFE-TPS components on remote sensing (RSITMD), to show they are
# domain-free: CLIP ViT-B/16 at 224x224 (14x14 patch grid; 32-px mask
# patches -> a 7x7 mask grid), CMPM + TG-MIM + IS-GVFC with the image id as
# the "identity" (pid == image_id for remote-sensing data, so the 5 captions
# of an image are its positives and IS-GVFC separates different images).
# Not in the paper: no reported numbers.  Other settings as the person
# configs (Adam lr 1e-5, batch 100, IRRA's schedule) but 10 epochs like the
# remote-sensing CLIP baseline.
_base_ = [
    '../_base_/datasets/rsitmd_galr.py',
    '../_base_/models/vfe_tps_vit-b16_person.py',
    '../_base_/schedules/irra_adam_cosine_60e.py',
]

model = dict(image_encoder=dict(image_size=224))
# IRRA's schedule scaled to 10 epochs: 1 warm-up epoch, then cosine
param_scheduler = dict(warmup_epochs=1)
train_cfg = dict(max_epochs=10)
# IS-GVFC needs positives; here the identity is the image, so batches of
# 20 images x their 5 captions (K = 5 covers every caption once per epoch)
# give every sampled row a partner (the same image, other augmentation).
train_dataloader = dict(
    batch_size=100,
    sampler=dict(_delete_=True, type='IdentityBalancedSampler',
                 batch_size=100, num_instances=5))
auto_scale_lr = dict(base_batch_size=100)

# RSITMD AMFMN/GaLR split (../_base_/datasets/rsitmd_galr.py): train on all
# 4,291 non-test images; there is no val split, so no validation and the
# last checkpoint is kept (the test split is only for tools/test.py).
val_cfg = None
