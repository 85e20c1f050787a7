# PIR-CLIP stage-2 (fine-tuning) schedule.  PIR §V-C: "the fine-tuning is
# set to 10 [epochs], and the batch size to 512 ... Other settings are the
# same as for PIR-ITR", i.e. PIR-ITR's optimiser and schedule
# (./pir_adamw_linear_warmup.py): AdamW betas (0.9, 0.98), eps 1e-8, lr
# 6e-5, weight decay 0.01 except biases, norms and the logit scale; linear
# warm-up from 0 over the first 10 % of the iterations, then linear decay to
# 0, per iteration.  10 epochs, batch 512 = 8 x 64, AMP (the release's
# --precision amp).  The best epoch is selected on val (never test).
# The release fine-tunes with its pre-training settings instead (lr 1e-5,
# weight decay 0.5, betas (0.9, 0.999), cosine, open_clip's decay
# exemptions): configs/pir_clip/ablations/
# pir-clip-released-optim_vit-b32-rn50_8xb64_rsitmd-pir.py.
_base_ = ['./pir_adamw_linear_warmup.py']

optim_wrapper = dict(type='AmpOptimWrapper', dtype='float16')
train_cfg = dict(max_epochs=10)
auto_scale_lr = dict(base_batch_size=512)
