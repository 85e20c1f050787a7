"""Nothing in sdtr/, tools/ or projects/ outside sdtr/checkpoint/ unpickles or
loads weights by itself: no ``torch.load``, ``torch.jit.load``,
``pickle.load(s)``, ``np.load(..., allow_pickle=True)`` and none of the
loaders that call them (mmengine's, torch.hub's)."""
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOOR = REPO / 'sdtr' / 'checkpoint'
FORBIDDEN = {
    'torch.load', 'torch.jit.load', 'torch.serialization.load',
    'torch.hub.load_state_dict_from_url', 'torch.hub.load',
    'pickle.load', 'pickle.loads', 'pickle.Unpickler', 'pickle._Unpickler',
    '_pickle.load', '_pickle.loads', '_pickle.Unpickler', 'joblib.load',
    'mmengine.runner.load_checkpoint', 'mmengine.runner._load_checkpoint',
    'mmengine.runner.checkpoint.load_checkpoint',
    'mmengine.runner.checkpoint._load_checkpoint',
    'mmengine.runner.checkpoint.CheckpointLoader.load_checkpoint',
    'mmengine.runner.CheckpointLoader.load_checkpoint',
}
NUMPY_LOADS = {'numpy.load', 'np.load'}


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return '.'.join([node.id] + parts[::-1])
    return None


def forbidden_calls(source: str, filename: str = '<source>'):
    """``[(line, name)]`` of the weight-loading calls and imports in
    ``source``."""
    tree = ast.parse(source, filename)
    aliases = {}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split('.')[0]] = \
                    a.name if a.asname else a.name.split('.')[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                full = f'{node.module}.{a.name}'
                aliases[a.asname or a.name] = full
                if full in FORBIDDEN:
                    found.append((node.lineno, full))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if name is None:
            continue
        head, _, rest = name.partition('.')
        full = aliases.get(head, head) + ('.' + rest if rest else '')
        if full in FORBIDDEN:
            found.append((node.lineno, full))
        elif full in NUMPY_LOADS and any(
                k.arg == 'allow_pickle' and not (isinstance(
                    k.value, ast.Constant) and k.value.value is False)
                for k in node.keywords):
            found.append((node.lineno, full + '(allow_pickle=...)'))
    return found


def test_the_scanner_finds_each_form():
    source = '''
import torch, pickle as pk
import numpy as np
from torch import jit
from mmengine.runner import load_checkpoint
torch.load(f)
jit.load(f)
pk.loads(b)
np.load(f, allow_pickle=True)
np.load(f)
'''
    assert [n for _, n in forbidden_calls(source)] == [
        'mmengine.runner.load_checkpoint', 'torch.load', 'torch.jit.load',
        'pickle.loads', 'numpy.load(allow_pickle=...)']


def test_nothing_outside_the_door_loads_weights():
    offenders = []
    for folder in ('sdtr', 'tools', 'projects'):
        for path in sorted((REPO / folder).rglob('*.py')):
            if DOOR in path.parents:
                continue
            for line, name in forbidden_calls(path.read_text(), str(path)):
                offenders.append(f'{path.relative_to(REPO)}:{line}: {name}')
    assert not offenders, ('read weights through sdtr.checkpoint '
                           '(open_checkpoint / load_weights):\n' +
                           '\n'.join(offenders))
