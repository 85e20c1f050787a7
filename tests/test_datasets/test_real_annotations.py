"""Parsers on the real public annotation files in ``<repo>/../shared/data``
(skipped when that folder is absent)."""
from pathlib import Path

import numpy as np
import pytest

from sdtr.datasets import (BadSampleError, COCOCaptionDataset,
                           GaLRCaptionDataset, LoadImage)

DATA = (Path(__file__).resolve().parents[2] / '..' / 'shared' /
        'data').resolve()
RS = DATA / 'rs_annotations'


def _need(path):
    if not path.exists():
        pytest.skip(f'real annotation files not found at {path}')
    return path


def _galr(name, split, **kw):
    root = _need(RS / 'galr_precomp' / f'{name}_precomp')
    return GaLRCaptionDataset(ann_file=str(root), split=split,
                              check_images=False, **kw)


EMPTY_RSITMD = ['mountain_2378.tif', 'railwaystation_3254.tif',
                'storagetanks_4367.tif', 'viaduct_4635.tif']


@pytest.mark.parametrize('test_mode', [False, True])
def test_rsitmd_galr_train_skips_captionless_images(test_mode):
    # the public train_caps.txt has 4 images whose 5 lines are all empty;
    # they are skipped (no skip_bad_samples needed) and reported
    ds = _galr('rsitmd', 'train', test_mode=test_mode)
    assert ds.layout == 'per_image'
    assert ds.num_images == 4291 - 4 and ds.num_texts == 21455 - 20
    assert [s['kind'] for s in ds.skipped_samples] == ['no_caption'] * 4
    assert sorted(s['image'] for s in ds.skipped_samples) == EMPTY_RSITMD
    first = ds.skipped_samples[0]
    assert first['file'].endswith('train_caps.txt')
    assert 'lines 9631-9635' in first['entry']
    assert 'mountain_2378.tif' in first['entry']
    classes = ds.metainfo['scene_classes']
    assert len(classes) == 33  # the 33 RSITMD scenes (PIR: 33 labels)
    assert 'baseballfield' in classes and 'sparseresidential' in classes
    first = ds.get_data_info(0)
    assert first['img_path'].endswith('baseballfield_452.tif')
    assert classes[first['label']] == 'baseballfield'


def test_rsitmd_galr_test():
    ds = _galr('rsitmd', 'test', test_mode=True)
    assert ds.layout == 'per_caption'
    assert ds.num_images == 452 and ds.num_texts == 2260
    assert all(len(ids) == 5 for ids in ds.img2txt)
    assert ds.get_data_info(0)['img_path'].endswith('boat_0.tif')


def test_rsicd_galr_train_and_test():
    tr = _galr('rsicd', 'train', test_mode=True)
    assert tr.layout == 'per_image'
    assert tr.num_images == 9828 and tr.num_texts == 49140
    classes = tr.metainfo['scene_classes']
    # numeric RSICD names (00001.jpg ...) are singleton classes
    assert '00001.jpg' in classes and 'airport' in classes
    numeric = [c for c in classes if c[0].isdigit()]
    assert len(numeric) > 100
    te = _galr('rsicd', 'test', test_mode=True)
    assert te.num_images == 1093 and te.num_texts == 5465


@pytest.mark.parametrize('split,n_img,n_txt', [('test', 1093, 5465),
                                               ('val', 1092, 5460)])
def test_rsicd_coco_json(split, n_img, n_txt):
    ann = _need(RS / 'rsicd_coco' / f'captions_{split}2017.json')
    ds = COCOCaptionDataset(ann_file=str(ann), split=split, test_mode=True,
                            check_images=False)
    assert ds.num_images == n_img and ds.num_texts == n_txt
    assert all(len(t) == 5 for t in ds.img2txt)
    if split == 'test':
        item = ds.get_data_info(0)
        assert item['img_path'] == 'viaduct_322.jpg'
        assert item['texts'][0] == ('many buildings and green meadows are '
                                    'near a viaduct .')


@pytest.mark.parametrize('name,shape', [
    ('airport_17.jpg', (384, 384, 3)),
    ('square_146.jpg', (224, 224, 3)),
    ('sparseresidential_3814.tif', (256, 256, 3)),
])
def test_decode_real_images(name, shape):
    path = _need(RS / 'images' / name)
    out = LoadImage()(dict(img_path=str(path)))
    assert out['img'].shape == shape and out['img'].dtype == np.uint8
    assert out['img'].std() > 5  # real content, not a blank


def test_real_images_through_galr_dataset():
    """The 5 real RSICD jpgs are train images of rsicd_precomp: load them
    through the parser with image checking on (the other, absent images are
    skipped by a train-mode dataset; a gallery would refuse to skip)."""
    root = _need(RS / 'galr_precomp' / 'rsicd_precomp')
    imgs = _need(RS / 'images')
    kw = dict(ann_file=str(root), split='train',
              data_prefix=dict(img_path=str(imgs)), skip_bad_samples=True,
              pipeline=[dict(type='LoadImage'),
                        dict(type='PackRetrievalInputs')])
    ds = GaLRCaptionDataset(**kw)
    names = sorted(Path(p).name for p in ds.img_paths)
    assert names == ['airport_17.jpg', 'sparseresidential_268.jpg',
                     'sparseresidential_3.jpg', 'square_102.jpg',
                     'square_146.jpg']
    assert len(ds.skipped_samples) == 9828 - 5
    assert len(ds) == 25
    out = ds[0]
    assert out['inputs'].shape[0] == 3
    assert out['data_samples'].text == ds.captions[0]
    with pytest.raises(BadSampleError, match='gallery'):
        GaLRCaptionDataset(test_mode=True, **kw)
