"""The plugin example: components registered from outside sdtr and used from
a config through custom_imports, trained for a few iterations."""
import os.path as osp
import sys

from mmengine.config import Config

from test_tools.conftest import REPO, run_tool, write_tiny_config

PLUGIN = REPO / 'projects' / 'example_plugin'
CONFIG = 'projects/example_plugin/configs/example-plugin_tiny_1xb32_synthetic-rs.py'


def test_plugin_config_uses_custom_imports():
    cfg = Config.fromfile(str(REPO / CONFIG), import_custom_modules=False)
    assert cfg.custom_imports.imports == ['example_plugin']
    assert cfg.model.image_encoder.type == 'ExampleConvImageEncoder'
    assert 'patch_size' not in cfg.model.image_encoder  # _delete_ worked


def test_plugin_components_register_and_compute():
    sys.path.insert(0, str(PLUGIN))
    try:
        import torch

        import example_plugin  # noqa: F401
        from sdtr.registry import MODELS
        enc = MODELS.build(dict(type='ExampleConvImageEncoder', embed_dim=16))
        out = enc(torch.randn(2, 3, 32, 32))
        assert out['global'].shape == (2, 16)
        assert out['tokens'].shape == (2, 1 + 16, 16)
        loss = MODELS.build(dict(type='ExampleMarginRankingLoss', margin=0.2))
        # identical unit features: positives 1, hardest negative 1 -> margin
        f = torch.ones(2, 4)
        val = loss(f, f, torch.tensor([0, 1]))
        assert torch.isclose(val, torch.tensor(0.4))
    finally:
        sys.path.remove(str(PLUGIN))


def test_plugin_trains(tmp_path):
    cfg = write_tiny_config(tmp_path / 'plugin_tiny.py', CONFIG, max_iters=4)
    work = str(tmp_path / 'work')
    proc = run_tool(['tools/train.py', cfg, '--work-dir', work],
                    env_extra={'PYTHONPATH': str(PLUGIN)})
    log = proc.stdout + proc.stderr
    assert 'loss_rank' in log and 'loss_itc' in log
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
