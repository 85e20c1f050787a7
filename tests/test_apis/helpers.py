"""Shared helpers of the API and tool tests (not a conftest)."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY_RS = REPO / 'configs' / 'quickstart' / 'clip_tiny_1xb32_synthetic-rs.py'


def load_tool(relpath):
    """Import a script of ``tools/`` as a module (to call its functions)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(
        'tool_' + path.stem.replace('-', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
