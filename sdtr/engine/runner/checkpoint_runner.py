"""mmengine's Runner whose ``load_from`` and ``resume`` go through
:mod:`sdtr.checkpoint`.

mmengine loads a checkpoint with ``strict=False`` after its own unpickling:
a checkpoint of another architecture only logs the mismatched keys and the
run goes on with random weights.  Here the file is read by the one door
(restricted unpickler, integrity check) and loaded by
:func:`sdtr.checkpoint.load_weights`: strictly, with the model's own key
upgrade of older layouts, and with the file's digest recorded as the model's
weights identity.  Partial loading is the opt-in of the config's
``load_cfg`` (``strict``, ``ignore_keys``; ``--partial-load`` of the tools);
``resume`` is always strict.  See docs/training.md#strict-weight-loading.
"""
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from sdtr.checkpoint import (load_weights, open_checkpoint,
                             register_mmengine_loaders)
from sdtr.registry import RUNNERS

@RUNNERS.register_module()
class CheckpointRunner(Runner):
    """A Runner that reads and loads checkpoints through sdtr.checkpoint."""

    #: the keys of the config's ``load_cfg`` (checked by
    #: :func:`sdtr.utils.check_config` before anything is built)
    LOAD_CFG_KEYS = ('strict', 'ignore_keys')

    def __init__(self, *args, **kwargs):
        register_mmengine_loaders()  # init_cfg and any other mmengine load
        super().__init__(*args, **kwargs)

    def load_checkpoint(self, filename, map_location='cpu', strict=False,
                        revise_keys=None) -> dict:
        """Load ``filename`` into the model as ``load_cfg`` says (strict for
        ``resume``); returns the checkpoint (mmengine's ``resume`` reads its
        ``meta``, optimizer and scheduler states)."""
        load_cfg = dict(self.cfg.get('load_cfg') or {})
        unknown = sorted(set(load_cfg) - set(self.LOAD_CFG_KEYS))
        if unknown:
            raise KeyError(f'load_cfg has unknown keys {unknown}; expected '
                           f'{list(self.LOAD_CFG_KEYS)}')
        resume = bool(self._resume)
        what = 'resume' if resume else 'load_from'
        checkpoint = open_checkpoint(filename)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint.obj)
        model = self.model.module if is_model_wrapper(self.model) else \
            self.model
        load_weights(
            model, checkpoint, source=f'{filename} ({what} checkpoint)',
            strict=resume or bool(load_cfg.get('strict', True)),
            ignore_keys=[] if resume else list(load_cfg.get('ignore_keys')
                                               or []),
            option_prefix='load_cfg.',
            hint='A resumed run must continue the same model.' if resume else
            'To fine-tune from a partial checkpoint on purpose, set '
            'load_cfg.strict=False (tools: --partial-load) or exclude keys '
            'with load_cfg.ignore_keys=[regex, ...].')
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        return checkpoint.obj
