"""The restricted unpickler: forged checkpoints are refused with an error
naming the file and the offending global, never a crash and never a side
effect; mmengine's own checkpoint objects load as ``torch.load`` gives them.

The forged files are loaded in a child process, so that a regression that
crashes the interpreter (an object array built from raw bytes segfaults)
fails this test instead of the test session."""
import json
import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from numpy._core.multiarray import _reconstruct

from sdtr.checkpoint import load_checkpoint


class Forged:
    """Pickles as ``func(*args)`` (+ ``state`` for BUILD)."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __call__(self):  # the pickler wants a callable func
        pass

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else \
            (self.func, self.args, self.state)


def forged_files(folder, marker):
    """name -> (path, words the refusal must contain)."""
    small = torch.arange(4.0)
    mean = Forged(getattr, (HistoryBuffer, 'mean'))
    # an object dtype whose flags no longer say "pickled as a list": numpy
    # then takes the array's raw bytes as object pointers (SIGSEGV)
    objects = Forged(np.dtype, ('O8', False, True), (
        3, '|', None, None, None, -1, -1, 61))
    cases = {
        'object_array': (Forged(_reconstruct, (np.ndarray, (0, ), b'b'), (
            1, (4, ), objects, False, b'\x41' * 32)), 'numpy.dtype'),
        # a float dtype whose BUILD flags claim it holds object pointers
        'flagged_dtype': (Forged(np.dtype, ('f8', False, True), (
            3, '<', None, None, None, -1, -1, 63)), 'dtype state'),
        'short_array': (Forged(_reconstruct, (np.ndarray, (0, ), b'b'), (
            1, (100, ), np.dtype('f8'), False, b'\0' * 8)), 'ndarray state'),
        'object_scalar': (Forged(np.core.multiarray.scalar, (
            np.dtype('O'), b'\x41' * 8)), 'numpy.dtype'),
        'os_system': (Forged(os.system, (f'touch {marker}', )),
                      'global posix.system'),
        'getattr_init': (Forged(getattr, (HistoryBuffer, '__init__')),
                         'getattr'),
        'getattr_builtin': (Forged(getattr, (OrderedDict, 'fromkeys')),
                            'getattr'),
        'nested_reduce': (Forged(mean, (HistoryBuffer(), )),
                          'only allow-listed globals are called'),
        'view_out_of_storage': (Forged(torch._utils._rebuild_tensor_v2, (
            small.storage(), 0, (1000, ), (1, ), False, OrderedDict())),
            'a view of 1000 elements of a storage of 4'),
    }
    out = {}
    for name, (payload, words) in cases.items():
        path = os.path.join(folder, f'{name}.pth')
        torch.save({'state_dict': {'w': torch.ones(2)}, 'x': payload}, path)
        out[name] = (path, words)
    return out


CHILD = '''
import json, sys
from sdtr.checkpoint import CheckpointError, load_checkpoint
result = {}
for name, path in json.loads(sys.argv[1]).items():
    try:
        load_checkpoint(path)
        result[name] = 'loaded'
    except CheckpointError as err:
        result[name] = str(err)
print(json.dumps(result))
'''


@pytest.mark.filterwarnings('ignore::UserWarning')
def test_forged_files_are_refused_naming_file_and_global(tmp_path):
    marker = tmp_path / 'PAYLOAD_RAN'
    files = forged_files(str(tmp_path), marker)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.getcwd()] + sys.path), OMP_NUM_THREADS='1')
    env.pop('SDTR_TRUST_CHECKPOINTS', None)
    proc = subprocess.run(
        [sys.executable, '-c', CHILD,
         json.dumps({k: p for k, (p, _) in files.items()})],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]  # e.g. -11: segfault
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, (path, words) in files.items():
        assert result[name].startswith(f'{path}: the safe unpickler '
                                       'refuses'), (name, result[name])
        assert words in result[name], (name, result[name])
    assert not marker.exists()


def test_mmengine_objects_load_as_torch_gives_them(tmp_path):
    """HistoryBuffers (numpy histories, statistics methods via getattr),
    numpy scalars, OrderedDict metadata, parameters and shared storages."""
    hub = MessageHub('unpickler-test')
    for v in (1.0, 2.0, 4.0):
        hub.update_scalar('train/loss', v)
    hub.update_info('eta', np.float64(3.5))
    model = torch.nn.Linear(3, 2)
    base = torch.randn(4, 6)
    obj = dict(message_hub=hub.state_dict(), state_dict=model.state_dict(),
               param=torch.nn.Parameter(torch.ones(2)),
               views=[base, base[1:, ::2], base.t()],
               meta=dict(seed=1, shape=torch.Size([2, 3]), big_endian=np.
                         arange(3, dtype='>i4'), names={'a', 'b'}),
               dtypes=[torch.zeros(2, dtype=d) for d in (
                   torch.bfloat16, torch.float16, torch.bool, torch.int8)])
    path = str(tmp_path / 'c.pth')
    torch.save(obj, path)
    got = load_checkpoint(path)
    ref = torch.load(path, weights_only=False)
    buffer = got['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer) and buffer.mean() == 7 / 3
    assert got['message_hub']['runtime_info']['eta'] == np.float64(3.5)
    assert got['state_dict']._metadata == ref['state_dict']._metadata
    assert isinstance(got['param'], torch.nn.Parameter)
    views = got['views']
    assert views[1].untyped_storage().data_ptr() == \
        views[0].untyped_storage().data_ptr()
    for a, b in zip(views + got['dtypes'], ref['views'] + ref['dtypes']):
        assert torch.equal(a, b) and a.stride() == b.stride() and \
            a.dtype == b.dtype
    meta = got['meta']
    assert meta['shape'] == torch.Size([2, 3]) and meta['names'] == {'a', 'b'}
    assert meta['big_endian'].dtype == np.dtype('>i4')
    assert meta['big_endian'].tolist() == [0, 1, 2]
