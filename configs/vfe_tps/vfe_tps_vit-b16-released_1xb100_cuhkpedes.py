# The released VFE-TPS behaviour (docs/methods/vfe_tps.md#9-as-released),
# for comparison with the paper config (NOT the paper's method):
#  * masking: learnable mask token at the patch-embedding level (not zeroed
#    pixels), 32-px mask patches, ratio 0.6;
#  * MIM: image-only (text guidance commented out upstream), no key padding
#    mask, loss weight 10;
#  * IS-GVFC ("iikl") over the whole batch (the release also appends an
#    unbounded per-epoch feature memory that breaks under DDP: not
#    reproduced);
#  * CMPM in IRRA's form (unnormalised anchors, L2-normalised labels).
_base_ = ['./vfe_tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(
    losses=dict(cmpm=dict(mode='irra')),
    calibration_losses=dict(isgvfc=dict(num_samples=None)),
    mim_head=dict(text_guided=False, use_key_padding_mask=False,
                  loss_weight=10.0),
    mask_generator=dict(mode='token'),
)
