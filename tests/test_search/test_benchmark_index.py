"""benchmark_index.py on a tiny gallery: every row printed, the exact index
is its own reference (recall 1), approximate ones are measured against it."""
import pytest

from test_apis.helpers import load_tool


def test_benchmark_index_small(tmp_path, capsys):
    pytest.importorskip('faiss')
    bench = load_tool('tools/analysis_tools/benchmark_index.py')
    rows = bench.main(['--num', '3000', '--dim', '32', '--repeat', '2',
                       '--num-queries', '16', '--types', 'flat', 'hnsw',
                       'ivfpq', '--rerank', '1', '10', '--threads', '1',
                       '--json', str(tmp_path / 'r.json')])
    labels = [r['index'] for r in rows]
    assert labels == ['flat (faiss)', 'flat (torch)', 'hnsw ef_search=64',
                      'ivfpq nprobe=16,rerank=1', 'ivfpq nprobe=16,rerank=10']
    assert rows[0]['recall'] == 1.0 and rows[1]['recall'] == 1.0
    by = {r['index']: r for r in rows}
    assert by['hnsw ef_search=64']['recall'] > 0.9
    # exact re-scoring of the candidates can only help
    assert by['ivfpq nprobe=16,rerank=10']['recall'] >= \
        by['ivfpq nprobe=16,rerank=1']['recall']
    # flat: 3000 x 32 float32 vectors
    assert abs(rows[0]['index_mib'] - 3000 * 32 * 4 / 2**20) < 1e-6
    out = capsys.readouterr().out
    assert 'recall@10' in out and 'ivfpq nprobe=16,rerank=10' in out
    assert (tmp_path / 'r.json').is_file()


def test_synthetic_chunks_are_reproducible():
    bench = load_tool('tools/analysis_tools/benchmark_index.py')
    a = list(bench.synthetic_chunks(250, 8, chunk=100))
    b = list(bench.synthetic_chunks(250, 8, chunk=100))
    assert [len(x) for x, _ in a] == [100, 100, 50]
    assert all((x == y).all() for (x, _), (y, _) in zip(a, b))
    assert a[2][1][-1] == 'item_249'
    import numpy as np
    norms = np.linalg.norm(np.concatenate([x for x, _ in a]), axis=1)
    np.testing.assert_allclose(norms, 1, atol=1e-5)
