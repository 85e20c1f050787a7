# PIR-CLIP stage-2 (fine-tuning) schedule (the configs start from the
# stage-1 RS5M checkpoint with `load_from`): 10 epochs, batch 512 = 8 x 64
# (PIR §V-C), AdamW lr 1e-5, weight decay 0.5, AMP; "other settings are the
# same as for PIR-ITR": linear warm-up from 0 over the first 10 % of the
# iterations, then cosine to 0 at the end of the run, per iteration.  The
# best epoch is selected on val (never test).
_base_ = ['./pir_clip_adamw_cosine.py']

param_scheduler = dict(
    warmup_iters=None, warmup_ratio=0.1, warmup_start_factor=0.0)
train_cfg = dict(max_epochs=10)
auto_scale_lr = dict(base_batch_size=512)
