"""tools/analysis_tools/silhouette_score.py (VFE-TPS Fig. 7): the score on
hand-computed points, the grouping by identity, and a run on the synthetic
person test split."""
import json

import numpy as np
import pytest
from test_apis.helpers import load_tool

from .conftest import REPO

pytest.importorskip('sklearn')


def _tool():
    return load_tool('tools/analysis_tools/silhouette_score.py')


def test_two_clusters_by_hand():
    # A = (0,0), (0,1); B = (4,0), (4,1): for every point a = 1 and
    # b = (4 + sqrt(17)) / 2, so s = 1 - a / b
    feats = np.array([[0, 0], [0, 1], [4, 0], [4, 1]], float)
    ids = np.array([7, 7, 3, 3])
    b = (4 + 17**0.5) / 2
    assert _tool().silhouette(feats, ids, 'euclidean') == pytest.approx(
        1 - 1 / b)
    # swapping the labels of two points makes the clustering worse
    assert _tool().silhouette(feats, np.array([7, 3, 7, 3]),
                              'euclidean') < 0
    with pytest.raises(ValueError, match='2 <= identities'):
        _tool().silhouette(feats, np.array([1, 1, 1, 1]))


def test_images_are_grouped_by_their_identity():
    class Items:
        def __init__(self, pids):
            self.pids = pids

        def __len__(self):
            return len(self.pids)

        def get_data_info(self, i):
            return dict(img_path=f'{i}.jpg', pid=self.pids[i])
    paths, ids = _tool().collect(Items([5, 5, 9, 2, 9]), max_images=4)
    assert paths == ['0.jpg', '1.jpg', '2.jpg', '3.jpg']
    assert ids.tolist() == [5, 5, 9, 2]


def test_on_the_synthetic_person_test_split(tmp_path, monkeypatch):
    monkeypatch.setenv('SDTR_CACHE', str(tmp_path / 'cache'))
    out = tmp_path / 'silhouette.json'
    result = _tool().main([
        str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-person.py'),
        '--max-images', '24', '--out', str(out)])
    assert json.loads(out.read_text()) == result
    assert result['images'] == 24 and result['identities'] >= 2
    assert -1.0 <= result['silhouette'] <= 1.0
