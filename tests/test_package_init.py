"""``import sdtr``: the mmcv-lite warning is filtered (only it), also where
models are built; a broken or GUI OpenCV gives an error that says how to fix
the install where sdtr first needs OpenCV (``sdtr.registry``), and does not
stop ``import sdtr`` (which needs no OpenCV)."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _python(code, pythonpath=()):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [*map(str, pythonpath), str(REPO), env.get('PYTHONPATH', '')])
    return subprocess.run([sys.executable, '-W', 'default', '-c', code],
                          cwd=str(REPO), env=env, capture_output=True,
                          text=True, timeout=300)


def test_mmcv_lite_warning_is_filtered_and_nothing_else():
    proc = _python(
        'import warnings\n'
        'import sdtr\n'
        'import mmcv.cnn.bricks.transformer\n'
        "warnings.warn('Fail to import ``Other`` from x', UserWarning)\n"
        "warnings.warn('unrelated user warning', UserWarning)\n")
    assert proc.returncode == 0, proc.stderr
    assert 'MultiScaleDeformableAttention' not in proc.stderr
    assert 'Fail to import ``Other``' in proc.stderr
    assert 'unrelated user warning' in proc.stderr


def test_without_sdtr_the_warning_is_printed():
    """The warning is real (so the filter is not a no-op)."""
    proc = _python('import mmcv.cnn.bricks.transformer')
    assert 'MultiScaleDeformableAttention' in proc.stderr


def test_get_model_does_not_print_the_warning():
    """get_model imports mmpretrain and mmcv through sdtr: still filtered."""
    proc = _python(
        'import sys\n'
        'from sdtr.apis import get_model\n'
        "get_model('clip_tiny_1xb32_synthetic-rs')\n"
        "assert 'mmcv.cnn.bricks.transformer' in sys.modules\n")
    assert proc.returncode == 0, proc.stderr
    assert 'MultiScaleDeformableAttention' not in proc.stderr


def test_gui_opencv_without_libgl_explains_the_fix(tmp_path):
    fake = tmp_path / 'cv2'
    fake.mkdir()
    (fake / '__init__.py').write_text(
        "raise ImportError('libGL.so.1: cannot open shared object file: No "
        "such file or directory')\n")
    proc = _python('import sdtr, sdtr.cli', pythonpath=[tmp_path])
    assert proc.returncode == 0, proc.stderr  # the light part needs no cv2
    proc = _python('import sdtr.registry', pythonpath=[tmp_path])
    assert proc.returncode != 0
    assert 'GUI build of OpenCV' in proc.stderr
    assert 'opencv-python-headless-shim' in proc.stderr


def test_tools_explain_a_gui_opencv_in_one_line(tmp_path):
    """Through the command line door, wherever cv2 is first imported."""
    fake = tmp_path / 'cv2'
    fake.mkdir()
    (fake / '__init__.py').write_text(
        "raise ImportError('libGL.so.1: cannot open shared object file')\n")
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join([str(tmp_path), str(REPO)])
    proc = subprocess.run(
        [sys.executable, 'tools/train.py',
         'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'],
        cwd=str(REPO), env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    line, = proc.stderr.strip().splitlines()
    assert line.startswith('tools/train.py: error: sdtr cannot import cv2')
    assert 'GUI build of OpenCV' in line and 'headless-shim' in line
