"""Search threads: the free cores by default (a busy shared machine gets one
thread, not one per core), SDTR_SEARCH_THREADS or threads= otherwise, and
the setting is what a search runs with."""
import os

import numpy as np
import pytest

from sdtr.search import threads as th
from sdtr.search.index import SearchIndex, build_index


@pytest.mark.parametrize('load, expected', [(0.2, 4), (1.4, 3), (2.6, 1),
                                            (9.0, 1)])
def test_free_cores_follow_the_load(monkeypatch, load, expected):
    monkeypatch.setattr(th, 'usable_cores', lambda: 4)
    monkeypatch.setattr(os, 'getloadavg', lambda: (load, load, load))
    monkeypatch.delenv(th.ENV, raising=False)
    assert th.free_cores() == expected == th.search_threads()


def test_explicit_settings_win(monkeypatch):
    monkeypatch.setattr(os, 'getloadavg', lambda: (0.0, 0.0, 0.0))
    monkeypatch.setenv(th.ENV, '3')
    assert th.search_threads() == 3 and th.search_threads(2) == 2
    monkeypatch.setenv(th.ENV, 'many')
    with pytest.raises(ValueError, match='SDTR_SEARCH_THREADS'):
        th.search_threads()
    with pytest.raises(ValueError, match='positive'):
        th.search_threads(0)


def test_a_search_runs_with_the_index_setting(tmp_path, monkeypatch):
    faiss = pytest.importorskip('faiss')
    x = np.random.default_rng(0).standard_normal((300, 8)).astype(
        np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    build_index(str(tmp_path / 'i'), [(x, [str(i) for i in range(300)])], 8,
                index_type='hnsw')
    monkeypatch.setenv(th.ENV, '1')
    idx = SearchIndex.open(str(tmp_path / 'i'))
    assert idx.threads == 1
    before = faiss.omp_get_max_threads()
    seen = []
    real = faiss.IndexHNSWFlat.search

    def spy(self, *args, **kwargs):
        seen.append(faiss.omp_get_max_threads())
        return real(self, *args, **kwargs)
    monkeypatch.setattr(faiss.IndexHNSWFlat, 'search', spy)
    idx.threads = 2 if before != 2 else 3
    idx.search(x[:4], 3)
    assert seen == [idx.threads]
    assert faiss.omp_get_max_threads() == before  # restored
