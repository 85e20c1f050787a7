"""EKLSR through the user-facing tools: tools/train.py (a few iterations of
the tiny synthetic config, with validation) and the Fig. 3 importance
picture."""
import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np

from .conftest import REPO, run_tool, write_tiny_config


def test_train_tiny_eklsr_rs(tmp_path):
    cfg = write_tiny_config(
        tmp_path / 'eklsr_rs.py',
        'configs/eklsr/eklsr_tiny_1xb32_synthetic-rs.py', max_iters=4)
    work = tmp_path / 'work'
    run_tool(['tools/train.py', cfg, '--work-dir', str(work)])
    logs = sorted(work.glob('*/vis_data/scalars.json'))
    assert logs, list(work.rglob('*'))
    records = [json.loads(line) for line in logs[0].read_text().splitlines()]
    train = [r for r in records if 'loss_klr_image' in r]
    assert len(train) == 4
    for r in train:
        assert r['loss'] > 0 and r['loss_klr_text'] > 0 and r['loss_itc'] > 0
    val = [r for r in records if 'rsitr/mR' in r]
    assert val and 0 <= val[-1]['rsitr/mR'] <= 100


def _load_vis():
    path = REPO / 'tools' / 'visualization' / 'vis_eklsr_importance.py'
    spec = importlib.util.spec_from_file_location('vis_eklsr', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_importance_picture(tmp_path):
    vis = _load_vis()
    image = tmp_path / 'img.png'
    rng = np.random.default_rng(0)
    cv2.imwrite(str(image), rng.integers(0, 255, (50, 70, 3), np.uint8))
    out = tmp_path / 'fig3.png'
    text = 'two red planes near the terminal'
    result = vis.main([
        str(REPO / 'configs/eklsr/eklsr_tiny_1xb32_synthetic-rs.py'),
        '--image', str(image), '--text', text, '--out', str(out)])
    assert result['image_scores'].shape == (8, 8)
    assert result['words'] == ['two', 'red', 'planes', 'near', 'the',
                               'terminal']
    assert ((result['word_scores'] >= 0) & (result['word_scores'] <= 2)).all()
    png = cv2.imread(str(out))
    assert png is not None and png.shape[0] > 100 and png.shape[1] > 100
    missing = tmp_path / 'nope.png'
    try:
        vis.main([str(REPO / 'configs/eklsr/eklsr_tiny_1xb32_synthetic-rs.py'),
                  '--image', str(missing), '--text', text,
                  '--out', str(out)])
    except FileNotFoundError as e:
        assert 'nope.png' in str(e)
    else:
        raise AssertionError('a missing image must raise')
    assert Path(out).stat().st_size > 1000
