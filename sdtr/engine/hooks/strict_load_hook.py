"""Strict loading of ``load_from`` and ``resume`` checkpoints.

mmengine's ``Runner.load_checkpoint`` loads with ``strict=False``: a
checkpoint of another architecture only produces an INFO block listing the
mismatched keys, and training (or ``tools/test.py``) goes on with randomly
initialised weights.  This hook checks the checkpoint against the model
*before* mmengine copies it (``after_load_checkpoint``) and stops with
:class:`~sdtr.models.utils.CheckpointMismatchError` listing every missing,
unexpected and shape-mismatched key.

Partial loading for fine-tuning is an explicit opt-in, the top-level config
key ``load_cfg`` (``configs/_base_/default_runtime.py``)::

    load_cfg = dict(strict=True, ignore_keys=[])

* ``strict=False`` (``--partial-load`` of ``tools/train.py`` and
  ``tools/test.py``): load what matches and report the coverage (``n / m``
  model tensors) and which tensors were not loaded;
* ``ignore_keys``: regular expressions of keys excluded on purpose (neither
  loaded nor required, e.g. a classifier head), listed in the log.

``resume`` is always strict (a resumed run must continue the same model).
See ``docs/training.md``.
"""
import re
from collections import OrderedDict

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import find_latest_checkpoint

from sdtr.registry import HOOKS

LOAD_CFG_KEYS = ('strict', 'ignore_keys')


def _source_name(runner) -> str:
    load_from = getattr(runner, '_load_from', None)
    if load_from:
        return str(load_from)
    latest = find_latest_checkpoint(runner.work_dir)
    return str(latest) if latest else '<checkpoint>'


@HOOKS.register_module()
class StrictLoadHook(Hook):
    """Refuse a ``load_from``/``resume`` checkpoint that does not match the
    model; with ``load_cfg.strict=False`` load it partially and report the
    coverage (in the :class:`~sdtr.models.utils.LoadReport` format of every
    pretrained load)."""

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        from sdtr.models.utils import (CheckpointMismatchError, LoadReport,
                                       compare_state_dicts)
        load_cfg = dict(runner.cfg.get('load_cfg') or {})
        unknown = sorted(set(load_cfg) - set(LOAD_CFG_KEYS))
        if unknown:
            raise KeyError(f'load_cfg has unknown keys {unknown}; expected '
                           f'{list(LOAD_CFG_KEYS)}')
        resume = bool(getattr(runner, '_resume', False))
        strict = True if resume else bool(load_cfg.get('strict', True))
        ignore = [] if resume else list(load_cfg.get('ignore_keys') or [])
        source = _source_name(runner)
        what = 'resume' if resume else 'load_from'

        if not isinstance(checkpoint, dict):
            raise TypeError(f'{what} {source}: expected a dict checkpoint, '
                            f'got {type(checkpoint).__name__}')
        holder = checkpoint if isinstance(checkpoint.get('state_dict'),
                                          dict) else None
        state_dict = holder['state_dict'] if holder else checkpoint
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        from sdtr.models.retrievers import BaseRetriever
        if isinstance(model, BaseRetriever):
            # older key layouts the model still reads (docs/architecture.md
            # #losses-and-the-training-loop)
            moved = [k for prefix in ('', 'module.')
                     for k in model.upgrade_state_dict(state_dict, prefix)]
            if moved:
                shown = ', '.join(moved[:5]) + (
                    f' (+{len(moved) - 5} more)' if len(moved) > 5 else '')
                runner.logger.info(f'{what} {source}: old layout, moved '
                                   f'{shown}')
        # the names mmengine will use (its default revise_keys)
        names = OrderedDict((re.sub(r'^module\.', '', k), k)
                            for k in state_dict)
        report = LoadReport(
            name=type(model).__name__, source=f'{source} ({what} checkpoint)',
            strict=strict, option_prefix='load_cfg.',
            hint='A resumed run must continue the same model.' if resume else
            'To fine-tune from a partial checkpoint on purpose, set '
            'load_cfg.strict=False (tools: --partial-load) or exclude keys '
            'with load_cfg.ignore_keys=[regex, ...].')
        compare_state_dicts(model.state_dict(),
                            {k: state_dict[old] for k, old in names.items()},
                            report, ignore_keys=ignore)
        if strict and not report.ok:
            raise CheckpointMismatchError(report.error_message())
        # leave mmengine only what is meant to be copied
        drop = set(report.ignored) | {
            m.split(': ')[0] for m in report.mismatched}
        for key, old in names.items():
            if key in drop:
                state_dict.pop(old)
        if report.ok:
            runner.logger.info(report.summary())
        else:
            runner.logger.warning(report.summary())
