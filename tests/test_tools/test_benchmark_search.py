"""tools/analysis_tools/benchmark_search.py runs and checks its own search
(the 1,000,000 x 512 figures are produced by hand, see configs READMEs)."""
import importlib.util

from .conftest import REPO


def test_benchmark_small_gallery(capsys):
    spec = importlib.util.spec_from_file_location(
        'benchmark_search', REPO / 'tools/analysis_tools/benchmark_search.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(['--num', '3000', '--dim', '32', '--repeat', '1'])
    assert [r['dtype'] for r in rows] == ['fp32', 'fp16']
    assert rows[0]['bytes'] == 3000 * 32 * 4
    assert rows[1]['bytes'] == 3000 * 32 * 2
    for r in rows:
        assert r['read_s'] > 0 and r['search_s'] > 0
        assert r['ratio'] > 0 and r['plain_s'] > 0 and r['ratio_plain'] > 0
    out = capsys.readouterr().out
    assert 'gallery 3000 x 32, 1 queries, top-10' in out and 'fp16' in out
    # several queries at once: each must find its own source row first
    rows = module.main(['--num', '3000', '--dim', '32', '--repeat', '1',
                        '--queries', '16', '--dtypes', 'fp32'])
    assert rows[0]['queries'] == 16 and rows[0]['ratio_plain'] > 0
