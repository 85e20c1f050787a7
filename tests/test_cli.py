"""The ``sdtr`` command: light (no torch/mmengine for help and the zoo
listing) and errors as one line with a non-zero status."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdtr.cli import describe_error, run_command
from sdtr.utils.errors import SdtrError

REPO = Path(__file__).resolve().parents[1]
HEAVY = ('torch', 'mmengine', 'cv2', 'mmpretrain', 'open_clip')
COMMANDS = ('train', 'test', 'search', 'build-gallery', 'serve',
            'list-models')


def _python(code, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.run([sys.executable, '-c', code], cwd=str(REPO),
                          env=env, capture_output=True, text=True,
                          timeout=120)


def _heavy_modules_after(argv):
    """Run ``sdtr ARGV`` in a fresh interpreter; the heavy modules it
    imported, its output and its exit status."""
    code = f'''
import json, sys
from sdtr.cli import main
try:
    status = main({argv!r})
except SystemExit as exit_:
    status = exit_.code
print(json.dumps(dict(status=status, heavy=[m for m in {HEAVY!r}
                                              if m in sys.modules])))
'''
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result, proc.stdout


def test_import_sdtr_and_the_cli_import_nothing_heavy():
    proc = _python('import sys, sdtr, sdtr.cli, sdtr.utils\n'
                   f'print([m for m in {HEAVY!r} if m in sys.modules])')
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '[]'


@pytest.mark.parametrize('argv', [['--help']] + [[c, '--help']
                                                  for c in COMMANDS])
def test_help_needs_no_torch_or_mmengine(argv):
    result, out = _heavy_modules_after(argv)
    assert result['status'] in (0, None)
    assert result['heavy'] == [], f'sdtr {argv} imported {result["heavy"]}'
    assert 'usage: sdtr' in out


def test_list_models_reads_the_zoo_without_torch():
    result, out = _heavy_modules_after(['list-models', 'clip_tiny', '-v'])
    assert result['status'] == 0 and result['heavy'] == []
    assert 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py' in out


def _fails_with(exc):
    def fn(argv):
        raise exc
    return fn


def test_refusal_is_one_line_and_status_1(capsys):
    err = SdtrError('index idx/ was built by another model; rebuild it')
    assert run_command(_fails_with(err), [], prog='sdtr search') == 1
    assert capsys.readouterr().err == (
        'sdtr search: error: index idx/ was built by another model; '
        'rebuild it\n')


def test_other_errors_name_their_type_and_place(capsys):
    assert run_command(_fails_with(ValueError('bad value')), [],
                       prog='sdtr x') == 1
    line = capsys.readouterr().err
    assert line.count('\n') == 1 and 'Traceback' not in line
    assert line.startswith('sdtr x: error: ValueError: bad value (raised '
                           f'at {__file__}:')
    assert run_command(_fails_with(FileNotFoundError('a.pth not found')),
                       [], prog='sdtr x') == 1
    assert capsys.readouterr().err == 'sdtr x: error: a.pth not found\n'


def test_worker_errors_keep_the_original_line():
    msg = ('Caught ValueError in DataLoader worker process 0.\nOriginal '
           'Traceback (most recent call last):\n  File "x.py", line 3\n'
           'ValueError: bad caption in ann.json entry 4\n')
    text = describe_error(RuntimeError(msg))
    assert '\n' not in text
    assert 'worker process 0.' in text and 'bad caption in ann.json' in text


def test_debug_shows_the_traceback(monkeypatch):
    seen = []

    def fn(argv):
        seen.append(argv)
        raise SdtrError('no')
    with pytest.raises(SdtrError):
        run_command(fn, ['a', '--debug', 'b'], prog='sdtr x')
    assert seen == [['a', 'b']]  # --debug is not passed on
    monkeypatch.setenv('SDTR_DEBUG', '1')
    with pytest.raises(SdtrError):
        run_command(fn, [], prog='sdtr x')


def test_status_interrupt_and_system_exit(capsys):
    assert run_command(lambda argv: 3, []) == 3
    assert run_command(lambda argv: {'mR': 1.0}, []) == 0
    assert run_command(_fails_with(KeyboardInterrupt()), [],
                       prog='sdtr x') == 130
    assert capsys.readouterr().err == 'sdtr x: interrupted\n'
    with pytest.raises(SystemExit):  # argparse's own exits pass through
        run_command(_fails_with(SystemExit(2)), [])


def test_zoo_error_through_the_command_is_one_line(tmp_path):
    index = tmp_path / 'model-index.yml'
    index.write_text('Models:\n  - Name: x\n')  # no Config
    env = dict(os.environ, PYTHONPATH=str(REPO), SDTR_MODEL_INDEX=str(index))
    proc = subprocess.run([sys.executable, '-m', 'sdtr', 'list-models'],
                          cwd=str(REPO), env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr == (f"sdtr list-models: error: {index}: model entry "
                           "'x' lacks ['Config']\n")
    proc = subprocess.run([sys.executable, '-m', 'sdtr', 'list-models',
                           '--debug'], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and 'Traceback' in proc.stderr


def test_tools_scripts_print_one_line(tmp_path):
    """tools/test.py runs through the same door (a missing checkpoint)."""
    config = REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'
    missing = tmp_path / 'missing.pth'
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', str(config), str(missing),
         '--work-dir', str(tmp_path / 'w')], cwd=str(REPO), env=env,
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"tools/test.py: error: checkpoint '{missing}' not found (expected "
        'a local file or an http(s):// URL)')
    assert 'Traceback' not in proc.stderr
