"""DatasetEpochHook hands the epoch to streaming datasets."""
from types import SimpleNamespace

from mmengine.registry import DefaultScope

from sdtr.engine.hooks import DatasetEpochHook
from sdtr.registry import HOOKS


def test_sets_epoch_and_ignores_other_datasets():
    calls = []
    dataset = SimpleNamespace(set_epoch=calls.append)
    runner = SimpleNamespace(
        epoch=4, train_loop=SimpleNamespace(
            dataloader=SimpleNamespace(dataset=dataset)))
    # whatever scope earlier tests left current
    with DefaultScope.overwrite_default_scope('sdtr'):
        hook = HOOKS.build(dict(type='DatasetEpochHook'))
    assert isinstance(hook, DatasetEpochHook)
    hook.before_train_epoch(runner)
    assert calls == [4]
    runner.train_loop.dataloader.dataset = object()  # no set_epoch: no-op
    hook.before_train_epoch(runner)
    assert calls == [4]
