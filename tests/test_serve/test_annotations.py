"""SplitAnnotations: captions by image path, identities by caption text
(person search: one person, several images, one sentence may describe two
people)."""
import os.path as osp

import pytest

from sdtr.serve.annotations import SplitAnnotations


def person_split(root):
    """Person 7 has two images, person 9 one; one sentence describes both
    people."""
    paths = [str(root / 'p7_a.jpg'), str(root / 'p7_b.jpg'),
             str(root / 'p9_a.jpg')]
    captions = ['a man in a red coat', 'a man in a red coat with a bag',
                'a woman in jeans', 'a man in a red coat']
    return SplitAnnotations('the test split', paths, [7, 7, 9],
                            [[0], [1], [2, 3]], captions, [7, 7, 9, 9])


def test_lookups(tmp_path):
    ann = person_split(tmp_path)
    assert ann.num_images == 3
    assert ann.image(str(tmp_path / 'p9_a.jpg')) == (
        9, ['a woman in jeans', 'a man in a red coat'])
    # paths are compared absolute; a file the split lacks is unknown
    rel = osp.relpath(tmp_path / 'p7_b.jpg')
    assert ann.image(rel) == (7, ['a man in a red coat with a bag'])
    assert ann.image(str(tmp_path / 'other.jpg')) is None
    assert ann.caption_pids('a man in a red coat') == {7, 9}
    assert ann.caption_pids('  a woman in jeans ') == {9}
    assert ann.caption_pids('a dog') == frozenset()


def test_inconsistent_lists_are_refused(tmp_path):
    with pytest.raises(ValueError, match='3 images, 2 identities'):
        SplitAnnotations('x', ['a', 'b', 'c'], [1, 2], [[0], [1], [2]],
                         ['u', 'v', 'w'], [1, 2, 3])
    with pytest.raises(ValueError, match='3 captions but 2 caption '
                       'identities'):
        SplitAnnotations('x', ['a'], [1], [[0]], ['u', 'v', 'w'], [1, 2])
