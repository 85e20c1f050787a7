"""The OpenMMLab packaging: ``sdtr/.mim`` (model-index.yml, configs with the
metafiles, tools) in a wheel and an sdist, ``mim search sdtr`` where openmim
is installed, and every config the README and the docs name in the zoo."""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from sdtr.utils.model_index import load_model_index

REPO = Path(__file__).resolve().parents[2]
#: configs the docs name that are not zoo entries on purpose: switches of
#: the released code (ablations of a zoo entry) and the non-retrieval
#: helpers (scene classifiers, zero-shot classification)
NOT_IN_ZOO = {
    'configs/vfe_tps/ablations/vfe-tps-released_vit-b16_1xb100_cuhkpedes.py',
    'configs/pir_itr/ablations/'
    'pir-itr-released_swin-t-bert_2xb128_rsitmd-pir.py',
    'configs/pir_clip/pir-clip-zeroshot_tiny_1xb64_synthetic-scenes.py',
    'configs/pir_itr/scene-classifier_resnet18-tiny_1xb32_synthetic-scenes.py',
    'configs/pir_itr/scene-classifier_resnet50_1xb64_aid.py',
}


def _docs():
    return [REPO / 'README.md'] + sorted(REPO.glob('docs/**/*.md')) + \
        sorted(REPO.glob('configs/**/README.md'))


def test_every_config_the_docs_name_is_in_the_zoo():
    models = load_model_index(str(REPO / 'model-index.yml')).values()
    zoo = {osp.relpath(m.config, REPO) for m in models}
    # a result measured with a test-only config (another test split)
    zoo |= {r['Test Config'] for m in models for r in m.results
            if 'Test Config' in r}
    assert 'configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_ret2-rsicd.py' in zoo
    named = {}
    for doc in _docs():
        for path in re.findall(r'(?<![\w/.-])configs/[\w./-]+?\.py',
                               doc.read_text()):
            if '/_base_/' not in path:
                named.setdefault(path, doc.name)
    assert 'configs/eklsr/eklsr_tiny_1xb32_synthetic-rs.py' in named
    for path in NOT_IN_ZOO:
        assert (REPO / path).is_file(), f'{path}: stale exception'
    missing = {p: d for p, d in named.items()
               if p not in zoo and p not in NOT_IN_ZOO}
    assert not missing, f'named in the docs but in no metafile: {missing}'


def _build(kind, out):
    """Build a wheel or an sdist of the checkout, offline."""
    hook = 'build_wheel' if kind == 'wheel' else 'build_sdist'
    proc = subprocess.run(
        [sys.executable, '-c', 'import sys; from setuptools import build_meta'
         f' as b; print(b.{hook}(sys.argv[1]))', str(out)],
        cwd=str(REPO), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / proc.stdout.strip().splitlines()[-1]


def test_wheel_ships_the_mim_folder(tmp_path):
    wheel = _build('wheel', tmp_path)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert 'sdtr/.mim/model-index.yml' in names
    for metafile in glob.glob(str(REPO / 'configs/*/metafile.yml')):
        rel = osp.relpath(metafile, REPO)
        assert f'sdtr/.mim/{rel}' in names, rel
    assert 'sdtr/.mim/configs/quickstart/clip_tiny_1xb32_synthetic-rs.py' \
        in names
    assert {'sdtr/.mim/tools/train.py', 'sdtr/.mim/tools/test.py'} <= names
    assert not any('__pycache__' in n for n in names)
    # the index of the wheel reads: every config it names is in it
    root = tmp_path / 'unpacked'
    zipfile.ZipFile(wheel).extractall(root)
    models = load_model_index(str(root / 'sdtr/.mim/model-index.yml'))
    assert models and all(osp.isfile(m.config) for m in models.values())


def test_sdist_ships_the_originals(tmp_path):
    sdist = _build('sdist', tmp_path)
    with tarfile.open(sdist) as tar:
        names = {n.split('/', 1)[1] for n in tar.getnames() if '/' in n}
    assert {'setup.py', 'MANIFEST.in', 'model-index.yml',
            'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py',
            'configs/eklsr/metafile.yml', 'tools/train.py'} <= names
    assert not any(n.startswith('sdtr/.mim') for n in names)


@pytest.mark.skipif(shutil.which('mim') is None,
                    reason='openmim is not installed')
def test_mim_search_lists_the_zoo(tmp_path):
    """``mim search sdtr`` of an sdtr installed from its wheel."""
    wheel = _build('wheel', tmp_path)
    site = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps',
                    '--target', str(site), str(wheel)], check=True,
                   capture_output=True, timeout=600)
    env = dict(os.environ, PYTHONPATH=str(site))
    proc = subprocess.run(['mim', 'search', 'sdtr'], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'clip_tiny_1xb32_synthetic-rs' in proc.stdout
