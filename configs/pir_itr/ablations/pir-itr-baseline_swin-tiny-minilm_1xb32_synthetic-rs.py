# Table III "baseline" on the tiny towers: the same Swin / MiniLM as
# pir-itr_swin-tiny-minilm_1xb32_synthetic-rs.py without the instruction
# branch (no prior, no belief, no Spatial-PAE), without Temporal-PAE and
# with the contrastive loss only; same data, schedule, batch and seed.
#   python tools/train.py \
#       configs/pir_itr/ablations/pir-itr-baseline_swin-tiny-minilm_1xb32_synthetic-rs.py
_base_ = ['../pir-itr_swin-tiny-minilm_1xb32_synthetic-rs.py']

model = dict(
    instruction_encoder=None,
    belief=None,
    spatial_pae=None,
    temporal_pae=None,
    losses=dict(affil=None))
