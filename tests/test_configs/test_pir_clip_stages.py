"""PIR-CLIP's two stages fit together at full size (PIR §IV-C3): the stage-1
checkpoint (a plain CLIP) gives every tower tensor of each stage-2 model,
and only the instruction branch, which stage 1 does not have, is left out by
the stage-2 configs' ``load_cfg``.  Models built on the meta device: names
and shapes only, no weights."""
from pathlib import Path

import pytest
from mmengine.config import Config

from sdtr.engine.schedulers import build_model_without_weights
from sdtr.models.utils import LoadReport, compare_state_dicts
from sdtr.utils import register_all_modules

register_all_modules()
CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'pir_clip'
STAGE1 = CONFIGS / 'pir-clip-stage1_vit-b32_8xb32_rs5m.py'


def _state(path):
    return build_model_without_weights(Config.fromfile(str(path)).model
                                       ).state_dict()


@pytest.fixture(scope='module')
def stage1():
    cfg = Config.fromfile(str(STAGE1))
    # the paper's stage 1: CLIP with the contrastive loss only
    assert cfg.model.type == 'CLIPRetriever'
    assert list(cfg.model.losses) == ['itc']
    return _state(STAGE1)


@pytest.mark.parametrize('name', ['rsitmd-pir', 'rsicd-karpathy', 'ret2',
                                  'ret3'])
def test_stage2_loads_the_stage1_towers(stage1, name):
    path = CONFIGS / f'pir-clip_vit-b32-rn50_8xb64_{name}.py'
    cfg = Config.fromfile(str(path))
    assert cfg.load_from == ('work_dirs/pir-clip-stage1_vit-b32_8xb32_rs5m/'
                             'epoch_20.pth')
    model = _state(path)
    report = compare_state_dicts(model, stage1, LoadReport(),
                                 ignore_keys=cfg.load_cfg.ignore_keys)
    assert report.ok, report.summary()
    assert not report.unexpected and not report.mismatched
    # what is left out is exactly the instruction branch
    assert set(report.ignored) == {k for k in model
                                   if k.startswith('instruction_encoder.')}
    # without the exclusion the load would stop on it
    strict = compare_state_dicts(model, stage1, LoadReport())
    assert strict.missing and all(k.startswith('instruction_encoder.')
                                  for k in strict.missing)
    # the branch gets its own weights (OpenAI RN50 in place of the
    # unpublished AID one)
    assert cfg.model.instruction_encoder.pretrained.checkpoint == \
        'openclip:RN50/openai'
