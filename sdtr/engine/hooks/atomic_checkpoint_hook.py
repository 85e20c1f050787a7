"""mmengine's ``CheckpointHook`` with crash-safe, sealed writes.

mmengine 0.10.7 writes a checkpoint straight under its final name, deletes
the oldest kept checkpoint (``max_keep_ckpts``) and the previous best one
*before* writing the new one, and rewrites the ``last_checkpoint`` pointer
in place.  A process killed (SIGKILL, out of memory, a preempted node) while
writing leaves a truncated ``epoch_N.pth`` and may already have deleted the
only loadable checkpoint, so ``--resume`` has nothing to continue from.

:class:`AtomicCheckpointHook` keeps every option and file name of
``CheckpointHook`` and changes the order and the writes:

1. a checkpoint is written to ``<name>.partial-<pid>`` with a seal (the
   digest of every record, checked by every load:
   :func:`sdtr.checkpoint.atomic_write`), flushed to disk (``fsync``) and
   renamed to ``<name>`` (``os.replace`` is atomic on POSIX and Windows),
   so a checkpoint name never points to a partial file;
2. then ``last_checkpoint`` is replaced the same way;
3. only then are the checkpoints that fell out of ``max_keep_ckpts`` and the
   previous best checkpoint deleted.

A kill at any point leaves ``last_checkpoint`` naming a complete checkpoint.
Leftover ``*.partial-*`` files of a killed run are deleted when training
starts again.  Checkpoints saved to other storage backends (``s3://``...)
keep mmengine's behaviour (object stores replace whole objects anyway).

When training is stopped after an iteration (``stop_training`` set during
it, as ``PreemptionHook`` does on SIGTERM/SIGUSR1), the hook saves that
iteration through the same writer, whatever its interval: a regular
checkpoint with ``by_epoch=False``; ``iter_N.pth`` in an epoch-based run
(outside ``max_keep_ckpts``; deleted once the resumed run writes its next
checkpoint).  Every rank waits until it is written.
See ``docs/training.md``.
"""
import glob
import os
import os.path as osp
from typing import List

from mmengine.dist import barrier, get_world_size, is_main_process
from mmengine.fileio.backends import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook

from sdtr.checkpoint import atomic_write
from sdtr.registry import HOOKS

ATOMIC_BACKEND = 'sdtr_atomic_local'
PARTIAL_TAG = '.partial-'
#: message-hub key of the checkpoint an epoch-based run wrote when stopped
STOP_CKPT = 'stop_ckpt'


@register_backend(ATOMIC_BACKEND, force=True)
class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose writes are atomic (and sealed,
    for checkpoints)."""

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), filepath)


class _DeferredRemoval:
    """File-backend proxy that records removals instead of doing them."""

    def __init__(self, backend, pending: List[str]) -> None:
        self._backend = backend
        self._pending = pending

    def remove(self, path) -> None:
        self._pending.append(str(path))

    def rmtree(self, path) -> None:
        self._pending.append(str(path))

    def __getattr__(self, name):
        return getattr(self._backend, name)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """``CheckpointHook`` (same arguments) whose checkpoints survive a kill
    at any point: atomic writes, pointer updated after the write, old
    checkpoints deleted last."""

    def _is_local(self) -> bool:
        return self.file_client_args is None and (
            self.backend_args is None
            or self.backend_args.get('backend') == ATOMIC_BACKEND) and (
                self.out_dir is None or '://' not in str(self.out_dir))

    def before_train(self, runner) -> None:
        if self._is_local():
            self.backend_args = dict(backend=ATOMIC_BACKEND)
        super().before_train(runner)
        if self._is_local() and is_main_process():
            for folder in {self.out_dir, runner.work_dir}:
                for stale in glob.glob(
                        osp.join(folder, f'*{PARTIAL_TAG}*')):
                    runner.logger.warning(
                        f'removing {stale}, a checkpoint whose writing was '
                        'interrupted')
                    os.remove(stale)

    def _remove(self, paths: List[str]) -> None:
        if not is_main_process():
            return
        for path in paths:
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed checkpoints
                self.file_backend.rmtree(path)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        super().after_train_iter(runner, batch_idx, data_batch, outputs)
        done = runner.iter + 1
        if not getattr(runner.train_loop, 'stop_training', False) or \
                getattr(self, '_saved_iter', None) == done:
            return
        runner.logger.info(f'Saving checkpoint at {done} iterations '
                           '(training stops)')
        if not self.by_epoch:
            self._save_checkpoint(runner)
        else:  # mid-epoch: an iteration checkpoint, kept until the next one
            name = f'iter_{done}.pth'
            runner.message_hub.update_info(
                STOP_CKPT, self.file_backend.join_path(self.out_dir, name))
            self._write(runner, name, dict(epoch=runner.epoch, iter=done))
        if get_world_size() > 1:
            barrier()  # no rank exits before the checkpoint is on disk

    def _save_checkpoint_with_step(self, runner, step, meta):
        # As CheckpointHook._save_checkpoint_with_step, reordered: write the
        # new checkpoint, then the pointer, then delete what falls out of
        # max_keep_ckpts and the checkpoint a stopped run resumed from
        # (mmengine deletes first).
        stale = []
        stopped_at = runner.message_hub.get_info(STOP_CKPT)
        if stopped_at:
            stale.append(stopped_at)
            runner.message_hub.update_info(STOP_CKPT, None)
        if self.max_keep_ckpts > 0 and not (
                self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(
                    self.file_backend.join_path(
                        self.out_dir,
                        self.filename_tmpl.format(
                            self.keep_ckpt_ids.popleft())))
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        self._write(runner, self.filename_tmpl.format(step), meta)
        self._remove(stale)

    def _write(self, runner, ckpt_filename: str, meta: dict) -> None:
        """Write a checkpoint, then the pointer to it."""
        self.last_ckpt = self.file_backend.join_path(self.out_dir,
                                                     ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        self._saved_iter = meta['iter']
        if is_main_process():
            self._write_pointer(runner)

    def _write_pointer(self, runner) -> None:
        atomic_write(str(self.last_ckpt),
                     osp.join(runner.work_dir, 'last_checkpoint'))

    def _save_best_checkpoint(self, runner, metrics) -> None:
        # mmengine deletes the previous best checkpoint before writing the
        # new one: defer every deletion until the writes are done.
        pending: List[str] = []
        backend = self.file_backend
        self.file_backend = _DeferredRemoval(backend, pending)
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = backend
        self._remove(pending)
