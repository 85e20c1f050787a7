# VFE-TPS as released (docs/methods/vfe_tps.md#9-as-released), NOT the
# paper's method: what `python train.py` of zhangweifeng1218/VFE_TPS
# @60f2d4e trains with its defaults (utils/options.py: --loss_names
# 'sdm+gi2id+mim', --sampler random, batch 100):
#  * losses: IRRA's SDM (fixed scale 1/0.02 = 50) + the image-only
#    identity loss `gi2id` (a classifier over the 11,003 CUHK-PEDES train
#    identities on the global visual feature) + MIM; no CMPM, no IS-GVFC;
#  * MIM: learnable mask token at the patch-embedding level (not zeroed
#    pixels), 32-px mask patches, ratio 0.6; image-only (the text-guided
#    call is commented out), no key padding mask, loss weight 10;
#  * random batches (as the paper config).
# The paper's loss names in the release's code (--loss_names
# 'cmpm+mim+iikl', in no script) are the paper config with
# model.losses.cmpm.mode=irra model.losses.isgvfc.num_samples=None
# model.losses.isgvfc.memory_size=65536 and the MIM switches above
# (configs/vfe_tps/README.md).
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(
    losses=dict(
        _delete_=True,
        # SDM scales by the model's fixed 1/0.02 (clip_vit-b16_person.py)
        sdm=dict(type='SDMLoss'),
        visual_id=dict(type='VisualIDLoss', in_channels=512,
                       num_classes=11003)),
    mim_head=dict(text_guided=False, use_key_padding_mask=False,
                  loss_weight=10.0),
    mask_generator=dict(mode='token'),
)
