"""``import sdtr``: the mmcv-lite warning is filtered (only it), and a broken
or GUI OpenCV gives an error that says how to fix the install."""
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


def test_gui_opencv_without_libgl_explains_the_fix(tmp_path):
    fake = tmp_path / 'cv2'
    fake.mkdir()
    (fake / '__init__.py').write_text(
        "raise ImportError('libGL.so.1: cannot open shared object file: No "
        "such file or directory')\n")
    proc = _python('import sdtr', pythonpath=[tmp_path])
    assert proc.returncode != 0
    assert 'GUI build of OpenCV' in proc.stderr
    assert 'opencv-python-headless-shim' in proc.stderr
