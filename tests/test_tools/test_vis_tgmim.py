"""tools/visualization/vis_tgmim.py: avgDist by hand and the PNG."""
import importlib.util
from pathlib import Path

import cv2
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]


def _tool():
    path = REPO / 'tools/visualization/vis_tgmim.py'
    spec = importlib.util.spec_from_file_location('vis_tgmim', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_avg_dist_by_hand():
    tool = _tool()
    # 1 x 4 image, right half masked: nearest visible of x=2,3 is x=1
    target = torch.zeros(1, 3, 1, 4)
    target[0, :, 0, 1] = 2.0
    pred = torch.zeros(1, 3, 1, 4)
    pred[0, :, 0, 2] = 1.0   # |1 - 2| = 1
    pred[0, 0, 0, 3] = 5.0   # channels (|5-2|, 2, 2) -> mean 7/3
    mask = torch.zeros(1, 1, 1, 4)
    mask[..., 2:] = 1
    out = tool.avg_dist(pred, target, mask)
    assert out['avg_dist'] == pytest.approx((1 + 7 / 3) / 2, rel=1e-5)
    assert out['avg_dist_geometric'] == pytest.approx(1.5, abs=0.05)
    l1 = (3 * 1 + 5) / 6  # target is 0 on the masked pixels
    assert out['l1_masked'] == pytest.approx(l1)
    with pytest.raises(ValueError, match='no visible'):
        tool.avg_dist(pred, target, torch.ones(1, 1, 1, 4))


def test_png_and_stats(tmp_path):
    tool = _tool()
    out = tmp_path / 'tgmim.png'
    cfg = str(REPO / 'configs/vfe_tps/vfe-tps_tiny_1xb32_synthetic-person.py')
    with pytest.warns(UserWarning, match='untrained'):
        stats = tool.main([cfg, '--out', str(out), '--num-images', '2',
                           '--batch', '3', '--split', 'val'])
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 2 * 192 and img.shape[2] == 3
    assert stats['num_images'] == 3 and stats['text_guided'] is True
    assert stats['avg_dist'] > 0 and stats['avg_dist_geometric'] >= 1
    with pytest.raises(ValueError, match='no MIM head'):
        tool.main([str(REPO / 'configs/vfe_tps/ablations/'
                       'vfe-tps-baseline_tiny_1xb32_synthetic-person.py'),
                   '--out', str(tmp_path / 'x.png')])


def test_long_captions_are_wrapped_not_cut():
    tool = _tool()
    caption = ('a young woman with long black hair wearing a white short '
               'sleeved shirt, blue jeans and white sneakers, carrying a '
               'red backpack on her right shoulder and a phone in her hand '
               'supercalifragilisticexpialidociouslyunbreakablewordsequence')
    face, scale, thick = tool.CAPTION_FONT
    width = 150
    lines = tool.wrap_caption(caption, width)
    assert len(lines) > 3
    # every word is kept, in order; only the over-long word is split
    assert ''.join(' '.join(lines).split()) == ''.join(caption.split())
    assert ' '.join(lines[:-3]) in caption
    for line in lines:
        assert cv2.getTextSize(line, face, scale, thick)[0][0] <= width
    bar = tool.caption_bar(caption, width + 4)
    assert bar.shape[1] == width + 4
    assert bar.shape[0] >= len(lines) * tool.CAPTION_LINE
    # ink on every text line of the bar
    ink = (bar < 128).any(axis=(1, 2))
    for k in range(len(lines)):
        rows = slice(k * tool.CAPTION_LINE + 3, (k + 1) * tool.CAPTION_LINE)
        assert ink[rows].any(), k
    assert tool.wrap_caption('', 100) == []
