# CPU budget shared by every tiny config on the synthetic person data: the
# remote-sensing tiny budget with 100 warm-up iterations (16 iterations per
# epoch here, 192 in all).
_base_ = ['./tiny_adamw_cosine_12e_synthetic-rs.py']

param_scheduler = dict(warmup_iters=100)
