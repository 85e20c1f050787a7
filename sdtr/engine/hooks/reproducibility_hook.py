"""Bit-exact resume: RNG states in checkpoints, epoch-seeded augmentation.

mmengine saves neither the random-number generator states nor anything that
ties the data workers' random streams to the epoch: a run killed mid-epoch
and resumed from its last checkpoint replays the data augmentation of the
first epochs and diverges from the uninterrupted run.  This hook makes the
resumed run continue exactly:

* **RNG states in the checkpoint.**  ``before_save_checkpoint`` stores the
  states of ``random``, numpy, torch (CPU) and every CUDA device
  (:func:`sdtr.utils.rng.get_rng_state`) under ``checkpoint['rng_state']``,
  one per rank; on ``resume`` they are restored right before the first
  training iteration (``before_train``).  ``load_from`` (a new run from
  weights) does not restore them.
* **Validation leaves the training streams alone.**  The states are saved at
  ``before_val`` and put back at ``after_val`` (a checkpoint written during
  validation, e.g. the best one, stores the pre-validation states), so a
  run gives the same weights with or without validation, and a resumed run,
  which does not repeat the validation, stays in step.
* **Augmentation seeded by (seed, epoch, sample).**  The training dataset
  seeds ``random``, numpy and torch's CPU generator before every sample with
  a hash of the run's seed, the epoch and the sample index
  (:class:`sdtr.utils.rng.EpochSeededFetch`, installed as the dataset's
  ``__getitems__`` in the training process and in every DataLoader worker
  through a ``worker_init_fn`` that first runs mmengine's own).  The epoch
  reaches persistent workers through shared memory, updated whenever the
  sampler's ``set_epoch`` is called (``DistSamplerSeedHook``, mmengine's
  iteration-based loop).  So the random crop of a sample depends on neither
  the worker that loads it, nor the number of workers or ranks, nor on
  whether the run was resumed; loading in the main process
  (``num_workers=0``) restores the main process's generator states after
  each batch, so dropout and masking draw the same numbers either way.
* The training DataLoader draws its workers' base seed from a private
  ``torch.Generator``, not from the global one that the model uses.

Iterable datasets (webdataset shards) keep their own seeding by ``(seed,
epoch, rank, worker)``; their workers are additionally seeded by ``(seed,
epoch at worker start, rank, worker id)``.  See ``docs/training.md``.
"""
from functools import partial
from typing import Optional

import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook

from sdtr.registry import HOOKS
from sdtr.utils.rng import (LOADER_STREAM, SharedEpoch, derive_seed,
                            get_rng_state, install_epoch_seeded_fetch,
                            seeded_worker_init, set_rng_state)

RNG_KEY = 'rng_state'


@HOOKS.register_module()
class ReproducibilityHook(Hook):
    """Save/restore RNG states and seed augmentation by (seed, epoch,
    sample) so that a killed and resumed run ends bit-identical to an
    uninterrupted one.

    Args:
        seed_data (bool): install the per-sample seeding of the training
            dataset. Defaults to True.
    """

    # after the other hooks' before_train (restore last), before
    # CheckpointHook's after_train_epoch/iter (gather first)
    priority = 'LOW'

    def __init__(self, seed_data: bool = True) -> None:
        self.seed_data = bool(seed_data)
        self._to_restore: Optional[list] = None
        self._val_state: Optional[dict] = None
        self._gathered: Optional[tuple] = None
        self.epoch = SharedEpoch(0)

    # ------------------------------------------------------------ helpers
    def _checkpoint_hook(self, runner) -> Optional[CheckpointHook]:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook):
                return hook
        return None

    def _states(self) -> list:
        """Every rank's states (collective when distributed)."""
        state = self._val_state if self._val_state is not None else \
            get_rng_state()
        if get_world_size() == 1:
            return [state]
        return all_gather_object(state)

    # --------------------------------------------------------------- data
    def _install_data_seeding(self, runner) -> None:
        loader = runner.train_loop.dataloader
        if not isinstance(loader, torch.utils.data.DataLoader):
            return
        seed = int(runner.seed) if runner.seed is not None else 0
        sampler = getattr(loader, 'sampler', None)
        set_epoch = getattr(sampler, 'set_epoch', None)
        if callable(set_epoch) and not getattr(set_epoch, '_sdtr_wrapped',
                                               False):

            def wrapped(epoch, _orig=set_epoch):
                _orig(epoch)
                self.epoch.value = epoch

            wrapped._sdtr_wrapped = True
            sampler.set_epoch = wrapped
            self.epoch.value = int(getattr(sampler, 'epoch', runner.epoch))
        else:
            self.epoch.value = runner.epoch
        loader.generator = torch.Generator().manual_seed(
            derive_seed(seed, LOADER_STREAM) & 0x7FFFFFFFFFFFFFFF)
        dataset = loader.dataset
        if isinstance(dataset, torch.utils.data.IterableDataset):
            runner.logger.warning(
                f'{type(dataset).__name__} is an iterable dataset: its '
                'augmentation is seeded per (epoch, rank, worker) when '
                'workers start, not per sample; with persistent workers a '
                'resumed run does not replay it exactly (docs/training.md)')
        elif getattr(type(dataset), '__getitems__', None) is not None:
            runner.logger.warning(
                f'{type(dataset).__name__} defines its own __getitems__: '
                'per-sample seeding is not installed and a resumed run may '
                'not replay its augmentation exactly')
        if loader.num_workers > 0:
            init = loader.worker_init_fn
            if not (isinstance(init, partial)
                    and init.func is seeded_worker_init):
                loader.worker_init_fn = partial(
                    seeded_worker_init, seed=seed, epoch=self.epoch,
                    rank=get_rank(), base_init_fn=init)
        else:
            install_epoch_seeded_fetch(loader.dataset, seed, self.epoch,
                                       isolate=True)

    def before_train(self, runner) -> None:
        if self.seed_data:
            self._install_data_seeding(runner)
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

    def before_train_epoch(self, runner) -> None:
        sampler = getattr(runner.train_loop.dataloader, 'sampler', None)
        if not callable(getattr(sampler, 'set_epoch', None)):
            self.epoch.value = runner.epoch

    # ---------------------------------------------------- checkpoint I/O
    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
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

    # ------------------------------------------------ validation isolation
    def before_val(self, runner) -> None:
        self._val_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._val_state is not None:
            set_rng_state(self._val_state)
            self._val_state = None
