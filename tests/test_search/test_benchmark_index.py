"""benchmark_index.py on a tiny gallery: a row per index type and setting,
sdtr against plain FAISS on the same index (the same results, so the same
recall), on clustered and anisotropic data."""
import numpy as np
import pytest

from test_apis.helpers import load_tool


def test_benchmark_index_small(tmp_path, capsys):
    pytest.importorskip('faiss')
    bench = load_tool('tools/analysis_tools/benchmark_index.py')
    rows = bench.main(['--num', '3000', '--dim', '32', '--repeat', '2',
                       '--queries', '8', '--batch', '16', '--types', 'flat',
                       'hnsw', 'ivfpq', '--rerank', '1', '10', '--data',
                       'clustered', 'anisotropic', '--threads', '1',
                       '--cold', '--json', str(tmp_path / 'r.json')])
    labels = [(r['data'], r['index'], r['settings']) for r in rows]
    assert labels[:4] == [
        ('clustered', 'flat', {}), ('clustered', 'hnsw', {'ef_search': 64}),
        ('clustered', 'ivfpq', {'nprobe': 32, 'rerank': 1}),
        ('clustered', 'ivfpq', {'nprobe': 32, 'rerank': 10})]
    assert [d for d, _, _ in labels] == ['clustered'] * 4 + \
        ['anisotropic'] * 4
    for r in rows:
        # sdtr returns what plain FAISS returns on the same index
        assert r['recall'] == r['plain_recall'], r
        assert r['ratio_1'] > 0 and r['ratio_batch'] > 0
        assert r['cold_ms'] > 0 and r['verify_s'] >= 0
    flat = [r for r in rows if r['index'] == 'flat']
    assert all(r['recall'] == 1.0 for r in flat)
    by = {(r['data'], r['settings'].get('rerank')): r['recall']
          for r in rows if r['index'] == 'ivfpq'}
    for data in ('clustered', 'anisotropic'):  # re-scoring can only help
        assert by[data, 10] >= by[data, 1]
    assert abs(flat[0]['mib'] - 3000 * 32 * 4 / 2**20) < 1e-6
    out = capsys.readouterr().out
    assert 'x = sdtr / plain FAISS' in out and 'anisotropic' in out
    assert (tmp_path / 'r.json').is_file()


def test_synthetic_chunks_are_reproducible():
    bench = load_tool('tools/analysis_tools/benchmark_index.py')
    for data in ('clustered', 'anisotropic', 'uniform'):
        a = list(bench.synthetic_chunks(250, 8, chunk=100, data=data))
        b = list(bench.synthetic_chunks(250, 8, chunk=100, data=data))
        assert [len(x) for x, _ in a] == [100, 100, 50]
        assert all((x == y).all() for (x, _), (y, _) in zip(a, b))
        assert a[2][1][-1] == 'item_249'
        x = np.concatenate([x for x, _ in a])
        assert x.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)


def test_anisotropic_data_is_clip_like():
    """A common direction: two vectors have a mean cosine near 0.45, where
    uniform vectors are near 0."""
    bench = load_tool('tools/analysis_tools/benchmark_index.py')
    x = next(bench.synthetic_chunks(2000, 512, data='anisotropic'))[0]
    cos = (x @ x.T)[np.triu_indices(len(x), 1)]
    assert 0.35 < cos.mean() < 0.55
    u = next(bench.synthetic_chunks(2000, 512, data='uniform'))[0]
    assert abs((u @ u.T)[np.triu_indices(len(u), 1)].mean()) < 0.02
