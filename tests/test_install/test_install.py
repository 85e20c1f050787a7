"""The README install gives a headless OpenCV.

mmengine/mmcv-lite require ``opencv-python`` (GUI build, links libGL.so.1
through Qt).  The README installs ``requirements/opencv-python-headless-shim``
(a distribution named ``opencv-python`` that only depends on
``opencv-python-headless``) together with sdtr; these tests keep the README,
``.ci/run``, the constraints file and the shim consistent, and check the
installed ``cv2`` binary.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip('tomli')

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIM = REPO_ROOT / 'requirements' / 'opencv-python-headless-shim'


def _pins():
    pins = {}
    for line in (REPO_ROOT / 'requirements/constraints.txt').read_text(
    ).splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            name, _, version = line.partition('==')
            pins[name.strip().lower()] = version.strip()
    return pins


def _readme_install_command():
    readme = (REPO_ROOT / 'README.md').read_text()
    section = readme.split('## Install', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```bash\n(.*?)```', section, re.S)
    commands = [ln for b in blocks for ln in b.splitlines()
                if ln.startswith('pip install')]
    assert len(commands) == 1, commands
    return commands[0]


def test_ci_installs_exactly_as_the_readme_says():
    readme = shlex.split(_readme_install_command())[2:]
    ci_text = (REPO_ROOT / '.ci/run').read_text()
    ci = []
    for line in ci_text.splitlines():
        if 'pip install' in line and not line.lstrip().startswith('#'):
            args = shlex.split(line)
            args = args[args.index('install') + 1:]
            ci.append([a for a in args if a != '--quiet'])
    assert readme in ci, (readme, ci)
    assert './requirements/opencv-python-headless-shim' in readme
    # no fix-up step (a forced reinstall of the headless wheel) any more
    assert 'force-reinstall' not in ci_text


def test_shim_matches_the_constraints():
    meta = tomllib.loads((SHIM / 'pyproject.toml').read_text())['project']
    pins = _pins()
    assert meta['name'] == 'opencv-python'
    # constraints pin exactly the shim, so PyPI's GUI wheel cannot match
    assert pins['opencv-python'] == meta['version']
    public, _, local = meta['version'].partition('+')
    assert local == 'headless'
    headless = pins['opencv-python-headless']
    assert public == headless
    assert meta['dependencies'] == [f'opencv-python-headless=={headless}']
    # the shim installs no module of its own (no second cv2/)
    tool = tomllib.loads((SHIM / 'pyproject.toml').read_text())['tool']
    assert tool['setuptools'] == {'packages': [], 'py-modules': []}


def _linked_libraries(path):
    out = subprocess.run(['ldd', path], capture_output=True, text=True,
                         check=True).stdout
    return out


@pytest.mark.skipif(not sys.platform.startswith('linux')
                    or shutil.which('ldd') is None,
                    reason='needs Linux and ldd')
def test_installed_cv2_does_not_need_libgl():
    import cv2
    folder = os.path.dirname(cv2.__file__)
    binaries = [os.path.join(folder, f) for f in os.listdir(folder)
                if re.fullmatch(r'cv2.*\.so', f)]
    binaries += [os.path.join(folder, sub, f) for sub in os.listdir(folder)
                 if sub.startswith('python-') and
                 os.path.isdir(os.path.join(folder, sub))
                 for f in os.listdir(os.path.join(folder, sub))
                 if f.endswith('.so')]
    assert binaries, f'no cv2 extension module in {folder}'
    for binary in binaries:
        libs = _linked_libraries(binary)
        assert 'libGL.so' not in libs and 'libQt5' not in libs, (
            f'{binary} needs libGL/Qt: the GUI build of OpenCV is installed. '
            'Reinstall with the README command (pip uninstall -y '
            'opencv-python opencv-python-headless first).\n' + libs)


def test_license_is_apache_2_and_ships_in_the_sdist(tmp_path):
    """setup.cfg declares Apache-2.0; LICENSE holds its full text and the
    source distribution carries it (built offline from a copy)."""
    import tarfile
    text = (REPO_ROOT / 'LICENSE').read_text()
    assert 'Apache License\n                           Version 2.0' in text
    for n in range(1, 10):  # the nine sections of the terms
        assert f'\n   {n}. ' in text, n
    assert 'END OF TERMS AND CONDITIONS' in text
    cfg = (REPO_ROOT / 'setup.cfg').read_text()
    assert re.search(r'^license = Apache-2\.0$', cfg, re.M)
    assert re.search(r'^license_files = LICENSE$', cfg, re.M)
    src = tmp_path / 'src'
    shutil.copytree(REPO_ROOT / 'sdtr', src / 'sdtr',
                    ignore=shutil.ignore_patterns('__pycache__'))
    for name in ('setup.cfg', 'pyproject.toml', 'README.md', 'LICENSE'):
        shutil.copy(REPO_ROOT / name, src / name)
    out = subprocess.run(
        [sys.executable, '-c', 'import sys; from setuptools.build_meta '
         'import build_sdist; print(build_sdist(sys.argv[1]))',
         str(tmp_path / 'dist')], cwd=src, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    sdist = tmp_path / 'dist' / out.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers()
                      if m.name.endswith('/LICENSE'))
        assert tar.extractfile(member).read().decode() == text


def _install_commands():
    """Every ``pip install`` command of README.md, docs/ and the READMEs of
    requirements/ and configs/ (code blocks and inline code), as argv."""
    docs = [REPO_ROOT / 'README.md'] + sorted(REPO_ROOT.glob('docs/**/*.md'))
    docs += sorted(REPO_ROOT.glob('requirements/**/README.md'))
    docs += sorted(REPO_ROOT.glob('configs/**/README.md'))
    found = []
    for doc in docs:
        text = doc.read_text()
        text = re.sub(r'\\\n\s*', ' ', text)  # shell line continuations
        for match in re.finditer(r'(?:^|`)(pip install [^`\n#]*)', text,
                                 re.M):
            found.append((doc.name, shlex.split(match.group(1).strip())))
    return found


def _extras():
    cfg = (REPO_ROOT / 'setup.cfg').read_text()
    section = cfg.split('[options.extras_require]', 1)[1].split('\n[', 1)[0]
    return set(re.findall(r'^(\w[\w-]*) =', section, re.M))


def test_every_install_command_works_in_a_fresh_venv():
    """The text of each command: the extras it names exist, and a command
    that installs sdtr from the checkout also installs the OpenCV shim
    (the constraints pin opencv-python to it: without it pip stops with
    ResolutionImpossible) and uses the constraints file."""
    commands = _install_commands()
    assert len(commands) >= 4, commands
    extras = _extras()
    assert {'tests', 'search', 'serve'} <= extras
    for doc, argv in commands:
        targets = [a for a in argv[2:] if not a.startswith('-')
                   and a != 'requirements/constraints.txt']
        sdtr = [t for t in targets if t == '.' or t.startswith('.[')]
        for target in sdtr:
            named = set(re.findall(r'\[([\w,-]+)\]', target)[0].split(',')
                        ) if '[' in target else set()
            assert named <= extras, (doc, argv, named - extras)
        if sdtr:
            assert '-c' in argv and argv[argv.index('-c') + 1] == \
                'requirements/constraints.txt', (doc, argv)
            assert './requirements/opencv-python-headless-shim' in argv, (
                doc, argv)
        for target in targets:
            if target.startswith('./'):
                assert (REPO_ROOT / target).exists(), (doc, target)
