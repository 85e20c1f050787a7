"""Progress lines: rate, ETA, rate-limited when not on a terminal, and the
evaluation loops' use of them."""
import logging
from types import SimpleNamespace

from mmengine.logging import MMLogger

from sdtr.engine.runner.retrieval_utils import EvalProgressMixin
from sdtr.utils import progress as progress_mod
from sdtr.utils.progress import Progress


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def capture():
    lines = []
    handler = logging.Handler()
    handler.emit = lambda r: lines.append(r.getMessage())
    MMLogger.get_current_instance().addHandler(handler)
    return lines, handler


def test_rate_eta_and_rate_limited_lines(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_mod.time, 'perf_counter', clock)
    lines, handler = capture()
    try:
        p = Progress(100, 'build-gallery', unit='image', initial=20,
                     interval=10, bar=False)
        clock.t += 4
        p.update(20)  # 20 new images in 4 s: 5/s, 60 left: 12 s
        assert p.rate == 5.0 and p.eta == 12.0
        assert lines == []  # within the interval: quiet
        clock.t += 8
        p.update(10)  # 30 in 12 s = 2.5/s; 50 left -> 20 s
        assert lines == ['build-gallery: 50/100 images (50.0%), 2.5 '
                         'images/s, ETA 0:00:20']
        clock.t += 1
        p.update(1)
        assert len(lines) == 1
        p.close()
        assert lines[-1] == ('build-gallery: 31 images in 13.0 s (2.4 '
                             'images/s), 20 done before')
        p.update(5)
        p.close()  # closed: silent
        assert len(lines) == 2
    finally:
        MMLogger.get_current_instance().removeHandler(handler)


def test_disabled_by_env(monkeypatch):
    monkeypatch.setenv('SDTR_PROGRESS', '0')
    lines, handler = capture()
    try:
        with Progress(3, 'x', interval=0, bar=False) as p:
            p.update(3)
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    assert lines == []


def test_eval_loop_progress(monkeypatch):
    monkeypatch.setenv('SDTR_PROGRESS_INTERVAL', '0')

    class Base:
        def run_iter(self, idx, batch):
            self.seen.append(idx)

    class Loop(EvalProgressMixin, Base):
        def __init__(self):
            self.seen = []
            self.dataloader = SimpleNamespace(dataset=list(range(5)))

        def run(self):
            def inner():
                for i, n in enumerate((2, 2, 1)):
                    self.run_iter(i, dict(inputs=[0] * n))
                return dict(score=1)
            return self._run_with_progress('val', inner)

    lines, handler = capture()
    try:
        loop = Loop()
        assert loop.run() == dict(score=1)
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    assert loop.seen == [0, 1, 2]
    for line, done in zip(lines, ('2/5 items (40.0%)', '4/5 items (80.0%)',
                                  '5/5 items (100.0%)')):
        assert line.startswith(f'[val] encoding: {done}, '), lines
    assert lines[-1].startswith('[val] encoding: 5 items in ')
