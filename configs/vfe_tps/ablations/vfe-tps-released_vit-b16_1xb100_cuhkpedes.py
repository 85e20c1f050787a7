# The released VFE-TPS behaviour (docs/methods/vfe_tps.md#9-as-released),
# for comparison with the paper config (NOT the paper's method):
#  * masking: learnable mask token at the patch-embedding level (not zeroed
#    pixels), 32-px mask patches, ratio 0.6;
#  * MIM: image-only (text guidance commented out upstream), no key padding
#    mask, loss weight 10;
#  * IS-GVFC ("iikl") over the whole batch of a random sampler, plus a
#    feature memory: the release keeps every feature of the epoch (unbounded,
#    cleared per epoch by a call that fails under DDP); here a bounded
#    per-rank memory of the last 65,536 features (about one CUHK-PEDES epoch
#    of 68k pairs) whose same-identity entries join eq. 4;
#  * CMPM in IRRA's form (unnormalised anchors, L2-normalised labels).
_base_ = ['../vfe-tps_vit-b16_1xb100_cuhkpedes.py']

model = dict(
    losses=dict(cmpm=dict(mode='irra'),
                isgvfc=dict(num_samples=None, memory_size=65536)),
    mim_head=dict(text_guided=False, use_key_padding_mask=False,
                  loss_weight=10.0),
    mask_generator=dict(mode='token'),
)
# the release's random sampler (IRRA's --sampler random)
train_dataloader = dict(
    sampler=dict(_delete_=True, type='SeededSampler', shuffle=True))
