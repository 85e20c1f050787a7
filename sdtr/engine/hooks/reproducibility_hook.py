"""Bit-exact resume: RNG states in checkpoints, training streams kept apart
from everything between two steps.

mmengine saves no random-number generator state: a run killed mid-epoch and
resumed from its last checkpoint draws other dropout masks, MIM masks and
samples than the uninterrupted run.  This hook acts only at its hook points
and changes no object the config built:

* **RNG states in the checkpoint.**  ``before_save_checkpoint`` stores the
  states of ``random``, numpy, torch (CPU) and every CUDA device
  (:func:`sdtr.utils.rng.get_rng_state`) that the next training step
  starts from, under ``checkpoint['rng_state']``, one per rank; on
  ``resume`` they are restored before the first training step
  (``before_train``).  ``load_from`` (a new run from weights) does not
  restore them.
* **Only the training steps draw from the training streams.**  The states
  are captured after every step (and before the first) and put back before
  the next one, so what happens in between -- validation, checkpointing,
  the DataLoader drawing its workers' base seed from the global torch
  generator whenever it starts an iterator, data loading in the training
  process -- leaves the streams of the steps alone.  A run gives the same
  weights with or without validation, with or without persistent workers,
  and a resumed run (which starts its iterator at another epoch) stays in
  step with the uninterrupted one.

The augmentation of a sample is seeded by the sampler, not here: a
``SeededSampler`` (or ``IdentityBalancedSampler``) gives every index the
seed derived from (seed, epoch, index) and the dataset draws the sample
from it (:mod:`sdtr.utils.rng`, docs/training.md#reproducibility).
Iterable datasets (webdataset shards) seed their own streams by (seed,
epoch, rank, worker).
"""
from typing import Optional

from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook

from sdtr.registry import HOOKS
from sdtr.utils.rng import (capture_rng, get_rng_state, restore_rng,
                            set_rng_state)

RNG_KEY = 'rng_state'


@HOOKS.register_module()
class ReproducibilityHook(Hook):
    """Save/restore RNG states so that a killed and resumed run ends
    bit-identical to an uninterrupted one, and keep the training steps'
    random streams apart from what runs between them."""

    # after the other hooks' before_train (restore last), before
    # CheckpointHook's after_train_epoch/iter (gather first)
    priority = 'LOW'

    def __init__(self) -> None:
        self._to_restore: Optional[list] = None
        self._next_step: Optional[tuple] = None  # capture_rng() state
        self._gathered: Optional[tuple] = None

    # ------------------------------------------------------------ helpers
    def _checkpoint_hook(self, runner) -> Optional[CheckpointHook]:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                return hook
        return None

    def _states(self) -> list:
        """Every rank's states for the next step (collective when
        distributed)."""
        state = get_rng_state()
        if self._next_step is not None:
            current = capture_rng()
            restore_rng(self._next_step)
            state = get_rng_state()
            restore_rng(current)
        if get_world_size() == 1:
            return [state]
        return all_gather_object(state)

    # ------------------------------------------------- the step streams
    def before_train(self, runner) -> None:
        if self._to_restore is not None:
            states, self._to_restore = self._to_restore, None
            if len(states) == get_world_size():
                set_rng_state(states[get_rank()])
                runner.logger.info('restored the random-number generator '
                                   'states of the checkpoint')
            else:
                runner.logger.warning(
                    f'the checkpoint holds RNG states of {len(states)} '
                    f'processes, this run has {get_world_size()}: they are '
                    'not restored and the resumed run is not bit-exact')
        self._next_step = capture_rng()

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if self._next_step is not None:
            restore_rng(self._next_step)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self._next_step = capture_rng()
        hook = self._checkpoint_hook(runner)
        if get_world_size() == 1 or hook is None:
            return
        # the iterations the checkpoint hook saves: its interval, the last
        # one, and the one after which training is stopped (PreemptionHook)
        if getattr(runner.train_loop, 'stop_training', False) or (
                not hook.by_epoch and (
                    hook.every_n_train_iters(runner, hook.interval,
                                             hook.save_begin)
                    or (hook.save_last and hook.is_last_train_iter(runner)))):
            self._gathered = (runner.iter, self._states())

    def after_train_epoch(self, runner) -> None:
        if get_world_size() > 1:
            self._gathered = (runner.iter, self._states())

    # ---------------------------------------------------- checkpoint I/O
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if get_world_size() == 1:
            states = self._states()
        elif self._gathered is not None and self._gathered[0] == runner.iter:
            states = self._gathered[1]
        else:
            runner.logger.warning(
                'no RNG states gathered from every rank for this checkpoint; '
                'resuming from it will not be bit-exact')
            return
        checkpoint[RNG_KEY] = dict(states=states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return
        saved = checkpoint.get(RNG_KEY)
        if saved is None:
            runner.logger.warning(
                'the resumed checkpoint holds no RNG states (written without '
                'ReproducibilityHook): the resumed run is not bit-exact')
            return
        self._to_restore = list(saved['states'])
