"""SearchService without HTTP: true-match marks by identity (person
search), gallery-row queries by stored feature, image names relative to
the gallery's folder found from a sample of rows."""
import numpy as np
import torch

from sdtr.serve.service import common_root
from test_serve.test_annotations import person_split


class FakeInferencer:
    """Encodes every caption and image as the same unit vector: the
    ranking is the gallery's row order (ties by the lower row)."""

    def encode_text(self, texts):
        return torch.nn.functional.normalize(torch.ones(len(texts), 4),
                                             dim=-1)


def test_person_search_marks_every_image_of_the_person(tmp_path):
    from sdtr.search.gallery import Gallery
    from sdtr.serve.service import SearchService
    ann = person_split(tmp_path)
    paths = [str(tmp_path / n) for n in ('p7_a.jpg', 'p7_b.jpg',
                                         'p9_a.jpg', 'unlisted.jpg')]
    feats = torch.nn.functional.normalize(torch.ones(4, 4), dim=-1)
    service = SearchService(FakeInferencer(), Gallery(feats, paths),
                            annotations=ann)
    answer = service.search_text('a man in a red coat with a bag', 4)
    assert [r['match'] for r in answer['results']] == [True, True, False,
                                                       None]
    assert answer['matches'] == 2
    assert [r['item'] for r in answer['results']] == [
        'p7_a.jpg', 'p7_b.jpg', 'p9_a.jpg', 'unlisted.jpg']
    # a sentence both people share: all their images are true matches
    shared = service.search_text('a man in a red coat', 3)
    assert [r['match'] for r in shared['results']] == [True, True, True]
    # the stored feature of a row searches like its image would
    row = service.search_row(2, 2, target='images')
    assert row['query']['name'] == 'p9_a.jpg'
    assert [r['match'] for r in row['results']] == [False, False]
    assert np.isclose(row['results'][0]['score'], 1.0)
    assert service.coverage == dict(image=3)
    # an image outside the gallery's folder is named by its file name
    assert service.item_name('image', '/elsewhere/z.png') == 'z.png'


def test_common_root_from_a_sample_of_rows():
    items = [f'/data/tiles/{i % 7}/t{i}.png' for i in range(10000)]
    assert common_root(items) == '/data/tiles'
    assert common_root(items, sample=3) == '/data/tiles'  # rows 0, 5k, 10k
    assert common_root(['/a/b/x.png', '/a/c/y.png', 'rel.png']) == '/a'
    assert common_root(['<array 0>']) is None
