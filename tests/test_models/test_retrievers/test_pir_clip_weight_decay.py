"""PIR-CLIP's schedule decays exactly what the release decays.

The release trains with open_clip's ``training/main.py``
(jaychempan/PIR-CLIP @ 9554baf): parameters with ``ndim < 2`` or whose name
contains ``bn``, ``ln``, ``bias`` or ``logit_scale`` get weight decay 0, all
others the full ``--wd`` (0.5) -- the 2-D positional/token embeddings
included."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from sdtr.registry import MODELS

REPO = Path(__file__).resolve().parents[3]


def _released_no_decay(name, param):
    return (param.ndim < 2 or 'bn' in name or 'ln' in name
            or 'bias' in name or 'logit_scale' in name)


def test_pir_clip_schedule_matches_open_clip_decay_rule():
    sched = Config.fromfile(
        str(REPO / 'configs/_base_/schedules/pir_clip_adamw_cosine.py'))
    model_cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/pir_clip_tiny.py')).model
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    optim_cfg = sched.optim_wrapper.to_dict()
    optim_cfg.update(type='OptimWrapper')  # AMP needs a GPU; same groups
    optim_cfg.pop('dtype')
    wrapper = build_optim_wrapper(model, optim_cfg)
    base_wd = optim_cfg['optimizer']['weight_decay']
    assert base_wd == 0.5
    decay_of = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            decay_of[id(p)] = group['weight_decay']
    checked = 0
    names = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        names[name] = decay_of[id(p)]
        expected = 0.0 if _released_no_decay(name, p) else base_wd
        assert decay_of[id(p)] == pytest.approx(expected), name
        checked += 1
    assert checked == len(decay_of)
    # the tensors the old config exempted are decayed, like the release
    for key in ('text_encoder.positional_embedding',
                'text_encoder.token_embedding.weight',
                'image_encoder.positional_embedding',
                'instruction_encoder.resnet.attnpool.positional_embedding',
                'text_encoder.text_projection', 'image_encoder.proj'):
        assert names[key] == pytest.approx(0.5), key
    for key in ('image_encoder.class_embedding', 'logit_scale',
                'image_encoder.ln_pre.weight',
                'instruction_encoder.resnet.bn1.weight',
                'instruction_encoder.proj.bias'):
        assert names[key] == 0.0, key
