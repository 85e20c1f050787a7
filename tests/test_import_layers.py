"""The import layers of docs/architecture.md#layers, as a checked contract
(``.importlinter``): a package imports only from the layers below it, and
no two sibling modules import each other."""
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / '.importlinter'

lint = pytest.importorskip(
    'importlinter.cli', reason='import-linter is in the "tests" extra')


def _lint(config: Path):
    """``(exit status, output)`` of import-linter in a child process (its
    CLI reconfigures logging, which would disable this process's loggers)."""
    proc = subprocess.run(
        [sys.executable, '-c',
         'import sys; from importlinter.cli import lint_imports; '
         'sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, '
         'no_logo=True))', str(config)],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def test_contract_is_kept():
    rc, out = _lint(CONTRACT)
    assert rc == 0, out
    assert 'KEPT' in out and 'BROKEN' not in out


def test_contract_names_every_package():
    """Every sub-package of sdtr sits in a layer (a new package must be
    placed, not left outside the contract)."""
    text = CONTRACT.read_text()
    layers = text.split('layers =', 1)[1].split('\n;', 1)[0]
    named = {part.strip(' ()') for line in layers.splitlines()
             for part in line.replace('|', ':').split(':') if part.strip()}
    packages = {f'sdtr.{p.name}' for p in (REPO / 'sdtr').iterdir()
                if (p / '__init__.py').exists()}
    packages |= {'sdtr.registry', 'sdtr.cli'}
    assert packages <= named, sorted(packages - named)


def test_an_upward_import_breaks_it(tmp_path):
    """The same contract with sdtr.apis moved to the bottom is broken by
    its real imports of sdtr.models."""
    text = CONTRACT.read_text().replace('    sdtr.apis\n', '', 1).replace(
        '    sdtr.utils : sdtr.registry\n',
        '    sdtr.utils : sdtr.registry\n    sdtr.apis\n', 1)
    moved = tmp_path / 'moved.ini'
    moved.write_text(text)
    rc, out = _lint(moved)
    assert rc != 0
    assert 'sdtr.apis is not allowed to import' in out
