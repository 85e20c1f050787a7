"""The model of every config under ``configs/`` builds.

Tiny configs (random-init towers, ``tiny`` in the file name) are built
for real on the CPU; full-size configs are built with their parameters on
the meta device by ``tools/misc/gen_model_zoo.py`` (``count_parameters``:
:func:`parameters_on_meta` plus a stand-in for a Hugging Face folder that
is not on this machine), so no memory is allocated and no weight is read.
A config whose model does not build fails with the config's name and the
error.  Model bases (``configs/_base_/models/*.py``) are built too;
dataset, schedule and pipeline bases carry no model.
"""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from test_apis.helpers import load_tool

from sdtr.registry import MODELS
from sdtr.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]
register_all_modules(init_default_scope=False)
GEN = load_tool('tools/misc/gen_model_zoo.py')


def model_configs():
    found = []
    for path in sorted((REPO / 'configs').glob('**/*.py')):
        rel = path.relative_to(REPO)
        if '_base_' in rel.parts and rel.parts[2] != 'models':
            continue
        found.append(str(rel))
    return found


CONFIGS = model_configs()


def is_tiny(rel):
    return 'tiny' in Path(rel).name


def test_every_config_is_collected():
    # leaves of every method folder and every model base
    folders = {Path(c).parts[1] for c in CONFIGS}
    assert {'clip', 'eklsr', 'pir_clip', 'pir_itr', 'quickstart',
            'vfe_tps', '_base_'} <= folders
    assert len(CONFIGS) > 90
    assert sum(map(is_tiny, CONFIGS)) >= 14


@pytest.mark.parametrize('rel', CONFIGS)
def test_model_builds(rel):
    path = str(REPO / rel)
    if not is_tiny(rel):
        # raises RuntimeError('cannot build the model of <config> ...')
        assert GEN.count_parameters(path) > 10_000_000, rel
        return
    try:
        cfg = Config.fromfile(path)
        with DefaultScope.overwrite_default_scope('sdtr'):
            model = MODELS.build(cfg.model)
    except Exception as err:
        pytest.fail(f'cannot build the model of {rel}: '
                    f'{type(err).__name__}: {err}')
    params = list(model.parameters())
    assert params and all(p.device.type == 'cpu' for p in params), rel
