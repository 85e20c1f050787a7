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


def _short(keys, limit=40) -> str:
    keys = list(keys)
    text = ', '.join(keys[:limit])
    return text + (f', ... ({len(keys) - limit} more)' if len(keys) > limit
                   else '')


@HOOKS.register_module()
class StrictLoadHook(Hook):
    """Refuse a ``load_from``/``resume`` checkpoint that does not match the
    model; with ``load_cfg.strict=False`` load it partially and report the
    coverage."""

    priority = 'VERY_HIGH'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
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
                runner.logger.info(f'{what} {source}: old layout, moved '
                                   f'{_short(moved)}')
        target = model.state_dict()
        # the names mmengine will use (its default revise_keys)
        names = OrderedDict((re.sub(r'^module\.', '', k), k)
                            for k in state_dict)

        def ignored(key):
            return any(re.search(p, key) for p in ignore)

        wanted = [k for k in target if not ignored(k)]
        given = [k for k in names if not ignored(k)]
        missing = [k for k in wanted if k not in names]
        unexpected = [k for k in given if k not in target]
        mismatched = [
            k for k in given if k in target and hasattr(
                state_dict[names[k]], 'shape') and tuple(
                    state_dict[names[k]].shape) != tuple(target[k].shape)
        ]
        excluded = [names[k] for k in names if ignored(k)]

        lines = []
        for title, keys in (('missing keys', missing),
                            ('unexpected keys', unexpected),
                            ('shape mismatches', [
                                f'{k}: checkpoint '
                                f'{tuple(state_dict[names[k]].shape)} vs '
                                f'model {tuple(target[k].shape)}'
                                for k in mismatched
                            ])):
            if keys:
                lines.append(f'  {title} ({len(keys)}): {_short(keys)}')
        if lines and strict:
            from sdtr.models.utils import CheckpointMismatchError
            hint = ('a resumed run must continue the same model.' if resume
                    else 'to fine-tune from a partial checkpoint on purpose, '
                    'set load_cfg.strict=False (tools: --partial-load) or '
                    'exclude keys with load_cfg.ignore_keys=[regex, ...].')
            raise CheckpointMismatchError(
                f'{what} checkpoint {source} does not match '
                f'{type(model).__name__}; nothing was loaded:\n' +
                '\n'.join(lines) + f'\n{hint}')

        # leave mmengine only what is meant to be copied
        for key in excluded + [names[k] for k in mismatched]:
            state_dict.pop(key, None)
        loaded = len(wanted) - len(missing) - len(mismatched)
        msg = (f'{what} {source}: loaded {loaded}/{len(target)} model '
               f'tensors ({100.0 * loaded / max(len(target), 1):.1f}%)')
        if excluded:
            msg += f'; excluded by load_cfg.ignore_keys: {_short(excluded)}'
        if lines:
            not_loaded = [k for k in target
                          if k in set(missing) | set(mismatched)]
            msg += ('; partial load (load_cfg.strict=False), kept as '
                    f'initialised: {_short(not_loaded)}\n' + '\n'.join(lines))
            runner.logger.warning(msg)
        else:
            runner.logger.info(msg)
