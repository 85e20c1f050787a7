# PIR-CLIP stage 2 on RSITMD with the release's fine-tuning optimiser (NOT
# the paper's: PIR §V-C gives PIR-ITR's settings, the default of
# pir-clip_vit-b32-rn50_8xb64_rsitmd-pir.py).  The PIR-CLIP release
# fine-tunes with the settings of its README command (jaychempan/PIR-CLIP
# @9554baf; open_clip 2.24 defaults for a model named "PIR"): AdamW lr
# 1e-5, betas (0.9, 0.999), eps 1e-8, weight decay 0.5 with open_clip's
# exemptions (no decay for tensors with fewer than 2 dimensions or named
# bn / ln / bias / logit_scale), warm-up then cosine to 0, per iteration;
# the 10 % warm-up, 10 epochs and batch 512 stay.
_base_ = ['../pir-clip_vit-b32-rn50_8xb64_rsitmd-pir.py']

optim_wrapper = dict(
    optimizer=dict(lr=1e-5, betas=(0.9, 0.999), weight_decay=0.5),
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = dict(anneal='cosine')
