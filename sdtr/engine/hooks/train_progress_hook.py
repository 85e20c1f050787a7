"""Training progress from the first iteration: a line, and a bar on a
terminal."""
import sys
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook, LoggerHook

from sdtr.registry import HOOKS


class _BarSafeStream:
    """A console stream whose writes first clear the progress bar and then
    redraw it (``tqdm.external_write_mode``), so that log lines appear
    above the bar instead of being mixed into it."""

    def __init__(self, stream, tqdm_cls):
        self.stream, self._tqdm = stream, tqdm_cls

    def write(self, text):
        with self._tqdm.external_write_mode(file=self.stream):
            return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


@HOOKS.register_module()
class TrainProgressHook(Hook):
    """Show training progress before the logger's first line.

    mmengine's ``LoggerHook`` writes its first training line after
    ``default_hooks.logger.interval`` iterations (25 in the CPU configs:
    minutes on a busy machine).  This hook

    * logs the first iteration of a run in the logger's own format (time,
      data time, loss, ETA), unless the logger logs it anyway;
    * on a terminal (rank 0, stderr a tty), shows a bar over the whole run
      (iterations, rate, time left) below the log lines; log files and
      output that is not a terminal get no bar.

    ``SDTR_PROGRESS=0`` turns the bar off (as for the other progress bars,
    :mod:`sdtr.utils.progress`); ``default_hooks.progress=None`` turns the
    hook off.  Registered in ``configs/_base_/default_runtime.py``.

    Args:
        bar (bool, optional): force (True) or forbid (False) the bar;
            default: when stderr is a terminal.
    """

    priority = 'BELOW_NORMAL'  # after IterTimerHook has timed the step

    def __init__(self, bar: Optional[bool] = None):
        self.bar = bar
        self._bar = None
        self._patched = []

    def before_train(self, runner) -> None:
        import os
        self._first = runner.iter
        want = sys.stderr.isatty() if self.bar is None else self.bar
        if not (want and is_main_process()
                and os.environ.get('SDTR_PROGRESS') != '0'):
            return
        from tqdm import tqdm
        self._bar = tqdm(total=runner.max_iters, initial=runner.iter,
                         desc='train', unit=' it', dynamic_ncols=True,
                         smoothing=0.1, file=sys.stderr)
        for handler in runner.logger.handlers:
            stream = getattr(handler, 'stream', None)
            if stream in (sys.stdout, sys.stderr):
                handler.stream = _BarSafeStream(stream, tqdm)
                self._patched.append((handler, stream))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._bar is not None:
            self._bar.update(1)
        if runner.iter != self._first:  # counted after this hook
            return
        loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
        if any(self.every_n_inner_iters(batch_idx, h.interval)
               for h in loggers):
            return  # the logger logs this iteration itself
        _, line = runner.log_processor.get_log_after_iter(
            runner, batch_idx, 'train')
        runner.logger.info(line)

    def after_run(self, runner) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        for handler, stream in self._patched:
            handler.stream = stream
        self._patched = []
