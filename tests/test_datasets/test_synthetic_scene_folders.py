"""Synthetic folder-of-classes scene data (AID/RESISC45/UCM layout)."""
from pathlib import Path

import cv2
import pytest

from sdtr.datasets import make_synthetic_scene_folders
from sdtr.datasets.synthetic.cli import main as cli_main
from sdtr.datasets.synthetic.rs import SCENES


def test_layout_counts_and_determinism(tmp_path):
    a = Path(make_synthetic_scene_folders(
        str(tmp_path / 'a'), train_per_class=3, test_per_class=2,
        img_size=32, num_scenes=4))
    b = Path(make_synthetic_scene_folders(
        str(tmp_path / 'b'), train_per_class=3, test_per_class=2,
        img_size=32, num_scenes=4))
    assert (a / 'classes.txt').read_text().split() == list(SCENES[:4])
    for split, n in (('train', 3), ('test', 2)):
        classes = sorted(p.name for p in (a / split).iterdir())
        assert classes == sorted(SCENES[:4])
        for c in classes:
            files = sorted((a / split / c).glob('*.png'))
            assert len(files) == n
            assert all(f.name.startswith(c + '_') for f in files)
            img = cv2.imread(str(files[0]))
            assert img.shape == (32, 32, 3)
    fa = sorted(p for p in a.rglob('*.png'))
    fb = sorted(p for p in b.rglob('*.png'))
    assert [p.read_bytes() for p in fa] == [p.read_bytes() for p in fb]


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_scenes'):
        make_synthetic_scene_folders(str(tmp_path), num_scenes=1)
    with pytest.raises(ValueError, match='per_class'):
        make_synthetic_scene_folders(str(tmp_path), train_per_class=0)


def test_cli(tmp_path, capsys):
    assert cli_main(['scenes', '--out-dir', str(tmp_path / 's'),
                     '--train-per-class', '1', '--test-per-class', '1',
                     '--img-size', '16']) == 0
    assert 'scenes:' in capsys.readouterr().out
    assert len(list((tmp_path / 's' / 'train').rglob('*.png'))) == 10
