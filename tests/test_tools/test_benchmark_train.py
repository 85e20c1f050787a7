"""tools/analysis_tools/benchmark_train.py: both paths train on the same
batch and the JSON line carries every figure (timings are not checked:
speed targets are measured by running the script, see README
"Performance")."""
import json

from test_apis.helpers import load_tool
from .conftest import REPO

KEYS = {'sdtr_samples_per_s', 'plain_samples_per_s', 'ratio',
        'step_time_ratio', 'breakdown_ms', 'peak_memory_mib',
        'process_peak_rss_mib', 'loss_first', 'loss_last',
        'param_update_norm', 'device', 'device_name', 'threads',
        'param_groups', 'optim_wrapper', 'amp', 'compile'}


def load():
    return load_tool('tools/analysis_tools/benchmark_train.py')


def test_benchmark_train_tiny_clip(capsys):
    result = load().main([
        str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'),
        '--batch-size', '4', '--iters', '2', '--warmup', '0',
        '--device', 'cpu'])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(line) == json.loads(json.dumps(result))
    assert KEYS <= set(result)
    assert result['batch_size'] == 4 and result['device'] == 'cpu'
    # AdamW with bias/norm no-decay: the merged groups, not one per tensor
    assert result['optim_wrapper'] == 'OptimWrapper'
    assert 1 < result['param_groups'] <= 4
    for name in ('sdtr', 'plain'):
        assert result['param_update_norm'][name] > 0, name
        assert result['loss_first'][name] != result['loss_last'][name]
        parts = result['breakdown_ms'][name]
        assert set(parts) == {'preprocessing', 'tokenisation',
                              'forward_backward', 'optimizer'}
        assert all(v > 0 for v in parts.values()), parts
    assert abs(result['ratio'] * result['step_time_ratio'] - 1) < 0.01
    assert result['peak_memory_mib'] == {'sdtr': None, 'plain': None}
