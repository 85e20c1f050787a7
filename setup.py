"""Build hooks of sdtr; the package metadata is in setup.cfg.

OpenMMLab packages carry their model zoo inside the installed package, in a
``.mim`` folder: ``model-index.yml``, ``configs/`` (with the metafiles) and
``tools/``.  ``mim search sdtr`` / ``mim download sdtr`` read it there, and
so do ``sdtr list-models``, ``get_model`` and ``sdtr train|test`` when sdtr
is installed from a wheel.  The build puts it in place:

* a wheel (``pip install .``, ``pip wheel .``): copies, written into the
  build folder (the checkout is not touched);
* an editable install (``pip install -e .``): ``sdtr/.mim/<name>`` are
  symbolic links to the checkout's files (ignored by git), so the zoo never
  goes stale while you edit configs;
* a source distribution: MANIFEST.in ships the originals, from which its
  wheel is built.
"""
import os
import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
#: what ``sdtr/.mim`` holds, relative to the checkout
MIM_ITEMS = ('model-index.yml', 'configs', 'tools')


def _clear(path):
    if osp.islink(path) or osp.isfile(path):
        os.remove(path)
    elif osp.isdir(path):
        shutil.rmtree(path)


def write_mim_folder(target, link):
    """Fill ``target`` (a ``.mim`` folder) with links to, or copies of,
    :data:`MIM_ITEMS` of the checkout."""
    os.makedirs(target, exist_ok=True)
    for name in MIM_ITEMS:
        src, dst = osp.join(HERE, name), osp.join(target, name)
        if not osp.exists(src):
            continue  # e.g. a partial copy of the sources
        _clear(dst)
        if link:
            os.symlink(osp.relpath(src, target), dst)
        elif osp.isdir(src):
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))
        else:
            shutil.copyfile(src, dst)


class BuildPyWithMim(build_py):
    """``build_py`` that also writes ``sdtr/.mim`` (see the module doc)."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            write_mim_folder(osp.join(HERE, 'sdtr', '.mim'), link=True)
        else:
            write_mim_folder(osp.join(self.build_lib, 'sdtr', '.mim'),
                             link=False)


setup(cmdclass={'build_py': BuildPyWithMim})
