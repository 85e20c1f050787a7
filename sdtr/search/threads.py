"""How many threads a search uses.

FAISS (OpenMP) and torch start one thread per core by default.  On a
machine shared with other jobs that oversubscribes the cores: two threads on
a busy 2-core machine made a flat search 7-10 times slower than one.  A
search therefore uses the cores that are free when the index is opened
(the cores this process may run on, minus the 1-minute load average,
rounded, at least 1), unless told otherwise: ``threads=`` of
:meth:`sdtr.search.index.SearchIndex.open`, ``--threads`` of the tools, or
the environment variable ``SDTR_SEARCH_THREADS``.
"""
import os
from contextlib import contextmanager
from typing import Optional

ENV = 'SDTR_SEARCH_THREADS'


def usable_cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def free_cores() -> int:
    """Usable cores minus the 1-minute load average (rounded), at least 1."""
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        return cores
    return max(1, min(cores, int(cores - load + 0.5)))


def search_threads(threads: Optional[int] = None) -> int:
    """``threads`` if given, else ``$SDTR_SEARCH_THREADS``, else
    :func:`free_cores`."""
    if threads is None and os.environ.get(ENV):
        try:
            threads = int(os.environ[ENV])
        except ValueError:
            raise ValueError(f'{ENV}={os.environ[ENV]!r} is not a number of '
                             'threads') from None
    if threads is None:
        return free_cores()
    if isinstance(threads, bool) or int(threads) < 1:
        raise ValueError(f'threads must be a positive int, got {threads!r}')
    return int(threads)


class faiss_threads:
    """Run the FAISS calls of this thread with ``threads`` OpenMP threads
    (a per-thread setting; the previous one is restored).  A class, not a
    generator: it runs once per query, so it costs two FAISS calls when
    nothing changes."""

    __slots__ = ('faiss', 'threads', 'before')

    def __init__(self, faiss, threads: int):
        self.faiss, self.threads = faiss, threads

    def __enter__(self):
        self.before = self.faiss.omp_get_max_threads()
        if self.before != self.threads:
            self.faiss.omp_set_num_threads(self.threads)

    def __exit__(self, *exc):
        if self.before != self.threads:
            self.faiss.omp_set_num_threads(self.before)


@contextmanager
def torch_threads(threads: int):
    """Run torch calls with ``threads`` intra-op threads (process-wide;
    the previous setting is restored)."""
    import torch
    before = torch.get_num_threads()
    if before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
