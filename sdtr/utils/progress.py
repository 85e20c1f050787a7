"""Progress of long steps (gallery embedding, evaluation, data generation).

On a terminal a ``tqdm`` bar shows the count, the rate and the time left.
When the output is not a terminal (CI, ``nohup``, slurm logs) a bar would
fill the log with carriage returns, so a plain line is logged instead, at
most every ``interval`` seconds (``$SDTR_PROGRESS_INTERVAL``, default 30),
plus one summary line at the end::

    build-gallery: 12800/50000 images (25.6%), 410.3 images/s, ETA 0:01:30

``SDTR_PROGRESS=0`` silences both.
"""
import datetime
import os
import sys
import time
from typing import Optional


def _fmt_eta(seconds: float) -> str:
    if seconds != seconds or seconds == float('inf'):
        return '?'
    return str(datetime.timedelta(seconds=int(round(seconds))))


class Progress:
    """Count work done and report it (see the module docstring).

    Args:
        total (int): units of work (``None`` when unknown).
        desc (str): what is being done (start of every line).
        unit (str): name of one unit, plural formed with ``s``.
        initial (int): units already done before (e.g. resumed shards);
            they count in the total but not in the rate.
        interval (float, optional): seconds between log lines when not on
            a terminal.
        enabled (bool): report at all (e.g. only on rank 0).
        bar (bool, optional): force (or forbid) the terminal bar.
    """

    def __init__(self, total: Optional[int], desc: str, unit: str = 'item',
                 initial: int = 0, interval: Optional[float] = None,
                 enabled: bool = True, bar: Optional[bool] = None):
        self.total, self.desc, self.unit = total, desc, unit
        self.done = self.initial = int(initial)
        self.enabled = enabled and os.environ.get('SDTR_PROGRESS') != '0'
        if interval is None:
            interval = float(os.environ.get('SDTR_PROGRESS_INTERVAL', 30))
        self.interval = interval
        self.start = self._last = time.perf_counter()
        if bar is None:
            bar = sys.stderr.isatty()
        self._bar = None
        if self.enabled and bar:
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=desc, unit=f' {unit}s',
                                 initial=self.initial, dynamic_ncols=True,
                                 smoothing=0.1)

    # ---------------------------------------------------------------- API
    @property
    def rate(self) -> float:
        """Units per second since the start (resumed units excluded)."""
        elapsed = time.perf_counter() - self.start
        return (self.done - self.initial) / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float:
        """Seconds left at the current rate (inf when unknown)."""
        if not self.total or self.rate <= 0:
            return float('inf')
        return max(0.0, (self.total - self.done) / self.rate)

    def line(self) -> str:
        count = f'{self.done}' if not self.total else (
            f'{self.done}/{self.total} {self.unit}s '
            f'({100.0 * self.done / self.total:.1f}%)')
        return (f'{self.desc}: {count}, {self.rate:.1f} {self.unit}s/s, '
                f'ETA {_fmt_eta(self.eta)}')

    def update(self, n: int = 1) -> None:
        self.done += int(n)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(int(n))
            return
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._log(self.line())

    def close(self) -> None:
        """End the bar and log one summary line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elapsed = time.perf_counter() - self.start
        self._log(f'{self.desc}: {self.done - self.initial} {self.unit}s in '
                  f'{elapsed:.1f} s ({self.rate:.1f} {self.unit}s/s)' +
                  (f', {self.initial} done before' if self.initial else ''))
        self.enabled = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:
            self.close()
        elif self._bar is not None:
            self._bar.close()
        return False

    @staticmethod
    def _log(msg: str) -> None:
        from mmengine.logging import print_log
        print_log(msg, logger='current')
