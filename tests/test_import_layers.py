"""The import layers of docs/architecture.md#layers, as a checked contract
(``.importlinter``): a package imports only from the layers below it, and
no two sibling modules import each other."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CONTRACT = REPO / '.importlinter'

lint = pytest.importorskip(
    'importlinter.cli', reason='import-linter is in the "tests" extra')


def _lint(config: Path) -> int:
    return lint.lint_imports(config_filename=str(config), no_cache=True,
                             no_logo=True)


def test_contract_is_kept(capsys):
    rc = _lint(CONTRACT)
    out = capsys.readouterr().out
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


def test_an_upward_import_breaks_it(tmp_path, capsys):
    """The same contract with sdtr.apis moved to the bottom is broken by
    its real imports of sdtr.models."""
    text = CONTRACT.read_text().replace('    sdtr.apis\n', '', 1).replace(
        '    sdtr.utils : sdtr.registry\n',
        '    sdtr.utils : sdtr.registry\n    sdtr.apis\n', 1)
    moved = tmp_path / 'moved.ini'
    moved.write_text(text)
    assert _lint(moved) != 0
    assert 'sdtr.apis is not allowed to import' in capsys.readouterr().out
