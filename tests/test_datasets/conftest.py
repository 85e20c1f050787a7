"""Fixtures of the dataset tests: tiny annotation files in the real
formats, written into temporary folders."""
import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

import sdtr.datasets  # noqa: F401  (registers everything)


@pytest.fixture(autouse=True, scope='session')
def _sdtr_scope():
    if DefaultScope.get_current_instance() is None or \
            DefaultScope.get_current_instance().scope_name != 'sdtr':
        DefaultScope.get_instance('sdtr-dataset-tests', scope_name='sdtr')
    yield


class _Collect(logging.Handler):

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def mm_log():
    """Messages logged to mmengine's current logger during the test (a
    list of strings)."""
    logger = MMLogger.get_current_instance()
    handler = _Collect()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


def write_image(path, seed=0, size=(24, 32), ext=None):
    """Write a distinct random image; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (5, 5), 0)  # compressible, jpg-stable-ish
    ok, buf = cv2.imencode(ext or path.suffix, img)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def dump_json(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


RS_IMAGES = {
    'train': ['airport_1.jpg', 'airport_2.jpg', 'beach_3.jpg', '00578.jpg'],
    'val': ['forest_7.jpg'],
    'test': ['beach_9.jpg', 'harbor_10.jpg'],
}


def caps_of(name, k=5):
    return [f'caption {j} of {name}' for j in range(k)]


@pytest.fixture
def rs_root(tmp_path):
    """Images of a tiny remote-sensing dataset under ``images/`` plus the
    same captions in the Karpathy, GaLR, COCO and PIR layouts."""
    root = tmp_path / 'rs'
    seed = 0
    for split, names in RS_IMAGES.items():
        for n in names:
            write_image(root / 'images' / n, seed=seed)
            seed += 1
    # Karpathy
    images = []
    for split, names in RS_IMAGES.items():
        for n in names:
            images.append(dict(filename=n, split=split, sentences=[
                dict(raw=c) for c in caps_of(n)]))
    dump_json(root / 'karpathy.json', dict(images=images))
    # GaLR: train one name per image, val/test one per caption
    g = root / 'precomp'
    g.mkdir()
    files = dict(train=('train_caps.txt', 'train_filename.txt'),
                 val=('val_caps_verify.txt', 'val_filename_verify.txt'),
                 test=('test_caps.txt', 'test_filename.txt'))
    for split, names in RS_IMAGES.items():
        caps = [c for n in names for c in caps_of(n)]
        fn = names if split == 'train' else [n for n in names
                                              for _ in range(5)]
        (g / files[split][0]).write_text('\n'.join(caps) + '\n')
        (g / files[split][1]).write_text('\n'.join(fn) + '\n')
    # COCO, PIR: one file per split
    iid = 100
    for split, names in RS_IMAGES.items():
        imgs, anns = [], []
        for n in names:
            imgs.append(dict(id=iid, file_name=n))
            anns += [dict(id=len(anns), image_id=iid, caption=c)
                     for c in caps_of(n)]
            iid += 1
        dump_json(root / f'coco_{split}.json',
                  dict(images=imgs, annotations=anns))
        if split == 'train':
            pir = [dict(image=n, caption=c, image_id=i)
                   for i, n in enumerate(names) for c in caps_of(n)]
        else:
            pir = [dict(image=n, caption=caps_of(n)) for n in names]
        dump_json(root / f'pir_{split}.json', pir)
    return root


PERSON = [  # (split, id, n_images)
    ('train', 1, 2), ('train', 2, 3), ('train', 3, 2), ('val', 4, 2),
    ('test', 5, 2), ('test', 6, 2)
]


@pytest.fixture
def person_root(tmp_path):
    """A tiny person-search dataset in the CUHK-PEDES, ICFG-PEDES and
    RSTPReid layouts (each a data_root with ``imgs/`` and its json)."""
    roots = {}
    for name, ann, key, id_shift in [
            ('CUHK-PEDES', 'reid_raw.json', 'file_path', 0),
            ('ICFG-PEDES', 'ICFG-PEDES.json', 'file_path', -1),
            ('RSTPReid', 'data_captions.json', 'img_path', -1)]:
        root = tmp_path / name
        entries, seed = [], 0
        for split, pid, n in PERSON:
            if name == 'ICFG-PEDES' and split == 'val':
                continue
            for k in range(n):
                rel = f'{split}/{pid}_{k}.jpg'
                write_image(root / 'imgs' / rel, seed=seed, size=(48, 16))
                seed += 1
                entries.append({
                    'split': split, 'id': pid + id_shift, key: rel,
                    'captions': [f'person {pid} view {k} a',
                                 f'person {pid} view {k} b']})
        dump_json(root / ann, entries)
        roots[name] = root
    return roots
