import mmengine.registry as root
import pytest
import torch
from mmengine.registry import DefaultScope

import sdtr.registry as reg

PAIRS = [
    ('RUNNERS', 'RUNNERS'), ('LOOPS', 'LOOPS'), ('HOOKS', 'HOOKS'),
    ('OPTIMIZERS', 'OPTIMIZERS'), ('OPTIM_WRAPPERS', 'OPTIM_WRAPPERS'),
    ('OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPER_CONSTRUCTORS'),
    ('PARAM_SCHEDULERS', 'PARAM_SCHEDULERS'), ('DATASETS', 'DATASETS'),
    ('DATA_SAMPLERS', 'DATA_SAMPLERS'), ('TRANSFORMS', 'TRANSFORMS'),
    ('MODELS', 'MODELS'), ('MODEL_WRAPPERS', 'MODEL_WRAPPERS'),
    ('METRICS', 'METRICS'), ('EVALUATORS', 'EVALUATOR'),
    ('VISUALIZERS', 'VISUALIZERS'), ('VISBACKENDS', 'VISBACKENDS'),
    ('WEIGHT_INITIALIZERS', 'WEIGHT_INITIALIZERS'),
    ('LOG_PROCESSORS', 'LOG_PROCESSORS'), ('TASK_UTILS', 'TASK_UTILS'),
]


@pytest.mark.parametrize('name,root_name', PAIRS)
def test_children_of_mmengine_roots(name, root_name):
    child = getattr(reg, name)
    assert child.scope == 'sdtr'
    assert child.parent is getattr(root, root_name)


def test_tokenizers_registry():
    assert reg.TOKENIZERS.scope == 'sdtr'
    assert reg.TOKENIZERS.parent is None


def test_lazy_import_and_cross_scope_build():
    with DefaultScope.overwrite_default_scope('sdtr'):
        # registered by sdtr.models, found through the `locations` import
        assert reg.MODELS.get('CLIPRetriever') is not None
        assert reg.METRICS.get('RSITRRecall') is not None
        assert reg.LOOPS.get('RetrievalValLoop') is not None
        # mmengine root component through the child
        sched = reg.OPTIMIZERS.build(
            dict(type='SGD', lr=0.1, params=[torch.nn.Parameter(
                torch.zeros(1))]))
        assert isinstance(sched, torch.optim.SGD)
        # another OpenMMLab package through its scope prefix
        resnet = reg.MODELS.build(
            dict(type='mmpretrain.ResNet', depth=18, out_indices=(3,)))
        assert resnet.__class__.__name__ == 'ResNet'
