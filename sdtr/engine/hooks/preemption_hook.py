"""Preemption: on SIGTERM or SIGUSR1, save at the next iteration boundary,
then stop.

A cluster that takes a node back (Slurm preemption, a time limit with
``--signal``, a cloud spot instance, ``torchrun`` shutting its workers
down) sends a signal and, some seconds later, SIGKILL.  Without a handler
the signal ends training at once and everything since the last epoch
checkpoint is lost.  With this hook (``default_hooks.preemption``):

1. the signal handler only records the signal (nothing else is safe inside
   a handler);
2. after the iteration in progress (``after_train_iter``), the ranks agree:
   the recorded signals are reduced with ``max`` over all processes every
   iteration (one 4-byte all-reduce; the loss logging already waits for
   the device every iteration), so all ranks stop after the same iteration
   even when the signal reached them at different moments;
3. the hook sets ``train_loop.stop_training``; in the same
   ``after_train_iter`` ``ReproducibilityHook`` gathers the RNG states and
   ``AtomicCheckpointHook`` writes the checkpoint of that iteration through
   its atomic writer and moves ``last_checkpoint`` to it (``iter_N.pth`` in
   an epoch-based run), and every rank waits until it is on disk;
4. the loop ends after that iteration (sdtr's epoch loop in the middle of
   an epoch, without validation); ``tools/train.py`` then exits with code
   ``128 + signal`` (143 for SIGTERM, 138 for SIGUSR1: the code of a
   process ended by that signal, so schedulers and ``torchrun`` see an
   unfinished run), which :func:`stop_exit_code` gives.

A ``--resume`` of the work dir continues from that checkpoint, mid-epoch,
exactly.  Signals that arrive outside the training iterations (during set-up
or the last validation) change nothing until the next iteration ends.

Slurm delivers a step's signals to every process of it, DataLoader workers
included, and PyTorch's workers die of a SIGTERM that their parent did not
send, which fails the training process at its next batch.  So the workers
ignore the signals this hook handles while training runs (the training
process decides and shuts them down); after training they exit on them
again, as the parent's shutdown of its workers expects.  The hook does not
touch the loaders: sdtr's runner starts every DataLoader worker with
:func:`shielded_worker_init` (after mmengine's own worker seeding), which
reads the signals to ignore from memory the hook shares with the forked
workers.  This needs workers started with ``fork`` (sdtr's default
``mp_start_method``).  See ``docs/training.md`` (section "Preemption").
"""
import atexit
import os
import signal
import threading
from multiprocessing.sharedctypes import RawArray
from typing import Callable, Optional, Sequence, Union

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook

from sdtr.registry import HOOKS

DEFAULT_SIGNALS = ('SIGTERM', 'SIGUSR1')
#: the signals a hook may handle (and DataLoader workers can ignore)
SHIELDABLE = ('SIGTERM', 'SIGUSR1', 'SIGUSR2')
#: per signal number, 1 while a PreemptionHook handles it in a training
#: run; shared memory created at import, so forked workers read it live
_HANDLED = RawArray('b', int(max(signal.Signals[n] for n in SHIELDABLE)) + 1)


@atexit.register  # runs before multiprocessing terminates the workers
def _unshield() -> None:
    """Let the workers exit on these signals again (also when training
    ended with an exception, before ``after_train``)."""
    for i in range(len(_HANDLED)):
        _HANDLED[i] = 0


def shielded_worker_init(worker_id: int,
                         base_init_fn: Optional[Callable] = None) -> None:
    """DataLoader ``worker_init_fn`` of sdtr's runner: run
    ``base_init_fn`` (mmengine's worker seeding), then ignore the signals a
    :class:`PreemptionHook` handles while training runs, and exit on them
    otherwise (as PyTorch's workers do on their parent's SIGTERM)."""
    if base_init_fn is not None:
        base_init_fn(worker_id)

    def handle(signum, frame):
        if not _HANDLED[signum]:
            os._exit(0)

    for name in SHIELDABLE:
        signal.signal(signal.Signals[name], handle)


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Save a checkpoint after the iteration in progress and stop training
    when one of ``signals`` arrives (see the module doc).

    Args:
        signals (str | Sequence[str]): names of the signals handled.
            Defaults to ``('SIGTERM', 'SIGUSR1')``.
    """

    # before ReproducibilityHook (LOW) and the checkpoint hook (VERY_LOW)
    # look at stop_training in after_train_iter
    priority = 'NORMAL'

    def __init__(self,
                 signals: Union[str, Sequence[str]] = DEFAULT_SIGNALS
                 ) -> None:
        names = [signals] if isinstance(signals, str) else list(signals)
        self.signals = []
        for name in names:
            if str(name) not in SHIELDABLE:
                raise ValueError(
                    f'PreemptionHook: cannot handle signal {name!r}; '
                    f'expected some of {SHIELDABLE}')
            self.signals.append(signal.Signals[str(name)])
        self.received = 0  # the first signal received, 0 for none
        self.stopped_by = 0  # the signal that stopped training
        self._previous = {}

    def _record(self, signum, frame) -> None:
        if not self.received:
            self.received = signum

    def before_train(self, runner) -> None:
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning(
                'PreemptionHook: training runs outside the main thread, '
                'where Python cannot handle signals: '
                f'{"/".join(s.name for s in self.signals)} end it without '
                'a checkpoint')
            return
        for sig in self.signals:
            self._previous[sig] = signal.signal(sig, self._record)
            _HANDLED[sig] = 1

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        received = self.received
        if get_world_size() > 1:
            flag = torch.tensor([received], dtype=torch.int32)
            all_reduce(flag, op='max')
            received = int(flag.item())
        if not received:
            return
        self.stopped_by = received
        runner.train_loop.stop_training = True
        runner.logger.warning(
            f'{signal.Signals(received).name} received: saving a checkpoint '
            f'after iteration {runner.iter + 1} and stopping (exit code '
            f'{128 + received})')

    def after_train(self, runner) -> None:
        _unshield()
        for sig, previous in self._previous.items():
            signal.signal(sig, signal.SIG_DFL if previous is None else
                          previous)
        self._previous = {}


def stop_exit_code(runner) -> int:
    """``128 + signal`` when a :class:`PreemptionHook` stopped the training
    of ``runner``, else 0."""
    for hook in runner.hooks:
        if isinstance(hook, PreemptionHook) and hook.stopped_by:
            return 128 + hook.stopped_by
    return 0
