"""mmengine's Runner with a short set-up log, a resume that finds the newest
complete checkpoint, and sdtr's training loops.

mmengine's Runner prints, before the first training line, the whole
environment (compiler flags of PyTorch included), the whole merged config,
the order of every hook and one line per parameter-wise optimizer option:
about 390 lines for the tiny quickstart.  :class:`QuietSetupRunner` prints
instead

* a two-line environment summary (versions, devices, seed, launcher),
* the path of the merged config, which mmengine writes to the work_dir
  anyway,

and leaves the hook order, the parameter-wise options, the SyncBN note and
mmengine's own ``FileClient`` deprecation notices out of the log.  With
``log_level='DEBUG'`` (``--verbose`` of the tools) it logs mmengine's full
set-up log instead.

Four more differences (``docs/training.md``, sections "Resume" and
"Preemption"):

* ``resume='auto'`` (``tools/train.py --resume``), and ``resume=True``
  without ``load_from``, resume the checkpoint
  :func:`sdtr.checkpoint.resume.find_resume_checkpoint` finds: the one
  ``last_checkpoint`` names when it is complete, else the newest complete
  ``epoch_*``/``iter_*`` checkpoint of the work_dir (a warning says which
  and why).  A work_dir without checkpoints starts the run as the config
  says (from ``load_from`` with ``'auto'``, else from scratch); one whose
  checkpoints are all incomplete is an error naming it;
* the DataLoader workers it starts ignore the signals a ``PreemptionHook``
  handles while training runs (:meth:`QuietSetupRunner.build_dataloader`);
* ``train_cfg=dict(by_epoch=True)`` (and ``False``) builds the loop that
  ``type='EpochBasedTrainLoop'`` (``'IterBasedTrainLoop'``) names in the
  sdtr scope, so epoch-based runs get sdtr's loop that continues and
  stops in the middle of an epoch.
* it reads ``env_cfg.torch_num_threads`` (mmengine has no such
  setting): the number of threads torch uses in the main process
  (``torch.set_num_threads``), set before anything is built and logged with
  the OpenMP wait policy (``docs/training.md``, "CPU threads").  ``None`` or
  absent leaves torch's default (one thread per core, or
  ``OMP_NUM_THREADS``).
"""
import logging
import os.path as osp
import platform

from sdtr.checkpoint.resume import find_resume_checkpoint
from sdtr.registry import RUNNERS
from .checkpoint_runner import CheckpointRunner

# INFO/WARNING messages mmengine logs during set-up that the quiet mode
# leaves out (full text with log_level='DEBUG').
QUIET_PREFIXES = (
    'Hooks will be executed in the following order',
    'paramwise_options -- ',
    'Distributed training is not used, all SyncBatchNorm',
    '"FileClient" will be deprecated',
    '"HardDiskBackend" is the alias of "LocalBackend"',
)


class QuietSetupFilter(logging.Filter):
    """Drops the set-up messages listed in :data:`QUIET_PREFIXES`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            return True
        return not str(record.msg).startswith(QUIET_PREFIXES)


def _versions() -> str:
    import cv2
    import mmengine
    import torch
    import torchvision

    import sdtr
    if torch.cuda.is_available():
        names = sorted({torch.cuda.get_device_name(i)
                        for i in range(torch.cuda.device_count())})
        device = (f'CUDA {torch.version.cuda}, {torch.cuda.device_count()} '
                  f'GPU(s): {", ".join(names)}')
    else:
        device = 'CPU only (no CUDA device)'
    return (f'sdtr {sdtr.__version__} | Python {platform.python_version()} '
            f'| PyTorch {torch.__version__} | TorchVision '
            f'{torchvision.__version__} | MMEngine {mmengine.__version__} | '
            f'OpenCV {cv2.__version__} | {device}')


def _threads_line(requested) -> str:
    import os

    import torch
    source = ('env_cfg.torch_num_threads' if requested is not None else
              'OMP_NUM_THREADS' if os.environ.get('OMP_NUM_THREADS') else
              "torch's default")
    policy = os.environ.get('OMP_WAIT_POLICY', 'not set: threads spin')
    return (f'torch threads: {torch.get_num_threads()} ({source}); OpenMP '
            f'wait policy: {policy}')


@RUNNERS.register_module()
class QuietSetupRunner(CheckpointRunner):
    """A Runner whose set-up log is a few lines, whose resume finds the
    newest complete checkpoint and whose loops continue and stop mid-epoch
    (see the module doc)."""

    def build_train_loop(self, loop):
        if isinstance(loop, dict) and 'type' not in loop \
                and 'by_epoch' in loop:
            loop = dict(loop)
            loop['type'] = 'EpochBasedTrainLoop' if loop.pop('by_epoch') \
                else 'IterBasedTrainLoop'
        return super().build_train_loop(loop)

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """mmengine's loader, whose workers also start with
        :func:`~sdtr.engine.hooks.preemption_hook.shielded_worker_init`
        (after the configured or mmengine's default ``worker_init_fn``):
        while a ``PreemptionHook`` handles a signal, the workers ignore it
        and the training process saves and stops (docs/training.md,
        "Preemption")."""
        from functools import partial

        from mmengine.runner import Runner

        from sdtr.engine.hooks.preemption_hook import shielded_worker_init
        loader = Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        if getattr(loader, 'num_workers', 0):
            loader.worker_init_fn = partial(
                shielded_worker_init, base_init_fn=loader.worker_init_fn)
        return loader

    def load_or_resume(self) -> None:
        if not self._has_loaded and self._resume and (
                self._resume == 'auto' or self._load_from is None):
            path = find_resume_checkpoint(self.work_dir)
            if path is None:
                self.logger.info(
                    f'resume: {self.work_dir} holds no checkpoint, training '
                    'starts from ' + (f'load_from={self._load_from}'
                                      if self._load_from else 'scratch'))
                self._resume = False
            else:
                self.logger.info(f'resume: continuing from {path}')
                self._load_from = path
        super().load_or_resume()

    def setup_env(self, env_cfg: dict) -> None:
        threads = env_cfg.get('torch_num_threads')
        if threads is not None:
            if isinstance(threads, bool) or not isinstance(
                    threads, int) or threads < 1:
                from sdtr.utils.errors import SdtrError
                raise SdtrError(
                    'env_cfg.torch_num_threads must be a positive integer '
                    f'or None (torch\'s default), got {threads!r}')
            import torch
            torch.set_num_threads(threads)
        self._threads_line = _threads_line(threads)
        super().setup_env(env_cfg)

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level=log_level, log_file=log_file,
                                      **kwargs)
        level = logging.getLevelName(log_level) if isinstance(
            log_level, str) else int(log_level)
        self._quiet_setup = isinstance(level, int) and level > logging.DEBUG
        if self._quiet_setup and not any(
                isinstance(f, QuietSetupFilter) for f in logger.filters):
            logger.addFilter(QuietSetupFilter())
        return logger

    def _log_env(self, env_cfg: dict) -> None:
        if not getattr(self, '_quiet_setup', False):
            super()._log_env(env_cfg)
            self.logger.info(self._threads_line)
            return
        self.logger.info(_versions())
        self.logger.info(
            f'seed {self._seed} (deterministic: '
            f'{self._randomness_cfg.get("deterministic", False)}) | launcher '
            f'{self._launcher} | world size {self._world_size} | '
            f'{self._threads_line} | work_dir {self._work_dir}')
        if self.cfg._cfg_dict:
            name = osp.basename(self.cfg.filename) if self.cfg.filename \
                else f'{self.timestamp}.py'
            self.logger.info(
                f'Config: {osp.join(self._work_dir, name)} (the merged '
                'config; --verbose or log_level="DEBUG" also prints it, the '
                'environment and the hooks)')


def build_runner(cfg) -> CheckpointRunner:
    """The runner of a config, as ``tools/train.py`` and ``tools/test.py``
    build it: ``runner_type`` when the config names one, else
    :class:`QuietSetupRunner`."""
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return QuietSetupRunner.from_cfg(cfg)
