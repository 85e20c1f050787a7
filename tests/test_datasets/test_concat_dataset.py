"""RetrievalConcatDataset: offsets in train/test mode and duplicate
removal (md5, perceptual hash, file name)."""
import json
import shutil

import cv2
import pytest
from conftest import dump_json, write_image

from sdtr.datasets import RetrievalConcatDataset
from sdtr.datasets.utils import average_hash, hamming_matrix


def _karpathy(root, items):
    dump_json(root / 'ann.json', dict(images=[
        dict(filename=n, split=s, sentences=[
            dict(raw=f'{n} caption {j}') for j in range(k)])
        for n, s, k in items]))
    return dict(type='KarpathyCaptionDataset', data_root=str(root),
                ann_file='ann.json', data_prefix=dict(img_path='images'))


@pytest.fixture
def two_sets(tmp_path):
    """A: airport_1, beach_2, forest_3 (train), harbor_4 (test).
    B (GaLR txt): airport_10.jpg = beach_2 re-encoded as jpg,
    river_11.png = byte copy of A's test harbor_4, desert_12.png = byte copy
    of airport_1, lake_13.png (unique); test park_14.png."""
    a, b = tmp_path / 'A', tmp_path / 'B'
    for i, n in enumerate(['airport_1', 'beach_2', 'forest_3', 'harbor_4']):
        write_image(a / 'images' / f'{n}.png', seed=i, size=(64, 64))
    a_cfg = _karpathy(a, [('airport_1.png', 'train', 2),
                          ('beach_2.png', 'train', 3),
                          ('forest_3.png', 'train', 1),
                          ('harbor_4.png', 'test', 2)])
    (b / 'images').mkdir(parents=True)
    img = cv2.imread(str(a / 'images' / 'beach_2.png'))
    cv2.imwrite(str(b / 'images' / 'airport_10.jpg'), img,
                [cv2.IMWRITE_JPEG_QUALITY, 90])
    shutil.copy(a / 'images' / 'harbor_4.png', b / 'images' / 'river_11.png')
    shutil.copy(a / 'images' / 'airport_1.png',
                b / 'images' / 'desert_12.png')
    write_image(b / 'images' / 'lake_13.png', seed=13, size=(64, 64))
    write_image(b / 'images' / 'park_14.png', seed=14, size=(64, 64))
    g = b / 'precomp'
    g.mkdir()
    train = ['airport_10.jpg', 'river_11.png', 'desert_12.png',
             'lake_13.png']
    (g / 'train_caps.txt').write_text(''.join(
        f'{n} caption {j}\n' for n in train for j in range(5)))
    (g / 'train_filename.txt').write_text(''.join(n + '\n' for n in train))
    (g / 'test_caps.txt').write_text(''.join(
        f'park_14.png caption {j}\n' for j in range(5)))
    (g / 'test_filename.txt').write_text('park_14.png\n' * 5)
    b_cfg = dict(type='GaLRCaptionDataset', data_root=str(b),
                 ann_file='precomp', data_prefix=dict(img_path='images'))
    return a_cfg, b_cfg


def test_train_offsets_and_labels(two_sets):
    a, b = two_sets
    ds = RetrievalConcatDataset(datasets=[a, b], dedupe=None, split='train')
    assert ds.num_images == 3 + 4 and ds.member_sizes == [3, 4]
    assert len(ds) == ds.num_texts == 6 + 20
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [d['image_id'] for d in infos] == \
        [0, 0, 1, 1, 1, 2] + [i for i in range(3, 7) for _ in range(5)]
    assert all(d['pid'] == d['image_id'] for d in infos)
    classes = ds.metainfo['scene_classes']
    assert classes == ['airport', 'beach', 'desert', 'forest', 'lake',
                       'river']
    # airport of A and airport of B share one label
    assert infos[0]['label'] == infos[6]['label'] == 0
    assert infos[6]['text'] == 'airport_10.jpg caption 0'


def test_test_mode_single_gallery(two_sets):
    a, b = two_sets
    ds = RetrievalConcatDataset(
        datasets=[dict(a, split='test'), dict(b, split='test')],
        dedupe=None, split='test', test_mode=True)
    assert len(ds) == ds.num_images == 2 and ds.num_texts == 7
    i0, i1 = ds.get_data_info(0), ds.get_data_info(1)
    assert i0['text_ids'] == [0, 1] and i1['text_ids'] == [2, 3, 4, 5, 6]
    assert i1['image_id'] == i1['sample_idx'] == 1 == i1['pid']
    assert i1['text_pids'] == [1] * 5
    assert ds.txt2img == [0, 0, 1, 1, 1, 1, 1]
    assert ds.captions[2] == 'park_14.png caption 0'


def test_md5_dedupe(two_sets, tmp_path):
    a, b = two_sets
    report = tmp_path / 'rep' / 'dups.json'
    ds = RetrievalConcatDataset(
        datasets=[a, b], exclude=[dict(a, split='test'),
                                  dict(b, split='test')],
        dedupe='md5', split='train', dedupe_report=str(report))
    names = [p.split('/')[-1] for p in ds.img_paths]
    # river_11 == A's test image; desert_12 == airport_1 (kept first)
    assert names == ['airport_1.png', 'beach_2.png', 'forest_3.png',
                     'airport_10.jpg', 'lake_13.png']
    rm = {r['img_path'].split('/')[-1]: r for r in ds.removed_duplicates}
    assert set(rm) == {'river_11.png', 'desert_12.png'}
    assert rm['river_11.png']['reason'] == 'in an excluded dataset'
    assert rm['river_11.png']['matched'].endswith('harbor_4.png')
    assert rm['desert_12.png']['matched'].endswith('airport_1.png')
    assert json.loads(report.read_text()) == ds.removed_duplicates
    # ids stay contiguous after the removal
    assert ds.image_pids == list(range(5)) and ds.member_sizes == [3, 2]


def test_ahash_dedupe_catches_reencoded_jpg(two_sets):
    a, b = two_sets
    ds = RetrievalConcatDataset(
        datasets=[a, b], exclude=[dict(a, split='test')], dedupe='ahash',
        split='train', test_mode=True)
    names = [p.split('/')[-1] for p in ds.img_paths]
    assert names == ['airport_1.png', 'beach_2.png', 'forest_3.png',
                     'lake_13.png']
    rm = {r['img_path'].split('/')[-1]: r for r in ds.removed_duplicates}
    assert set(rm) == {'airport_10.jpg', 'river_11.png', 'desert_12.png'}
    assert rm['airport_10.jpg']['matched'].endswith('beach_2.png')
    assert 0 <= rm['airport_10.jpg']['distance'] <= 10
    assert ds.get_data_info(3)['text_ids'] == list(range(6, 11))


def test_ahash_distances(two_sets, tmp_path):
    a, b = two_sets
    root_a, root_b = a['data_root'], b['data_root']
    h_png = average_hash(f'{root_a}/images/beach_2.png')
    h_jpg = average_hash(f'{root_b}/images/airport_10.jpg')
    h_other = average_hash(f'{root_a}/images/forest_3.png')
    import numpy as np
    d = hamming_matrix(np.stack([h_png]), np.stack([h_jpg, h_other]))[0]
    assert h_png.shape == (32, ) and d[0] <= 10 and d[1] > 60


def test_filename_dedupe_and_errors(two_sets, person_root):
    a, _ = two_sets
    ds = RetrievalConcatDataset(datasets=[a, a], dedupe='filename')
    assert ds.num_images == 3 and len(ds.removed_duplicates) == 3
    with pytest.raises(ValueError, match='dedupe must be one of'):
        RetrievalConcatDataset(datasets=[a], dedupe='sha')
    person = dict(type='RSTPReidDataset', ann_file='data_captions.json',
                  data_root=str(person_root['RSTPReid']),
                  data_prefix=dict(img_path='imgs'))
    with pytest.raises(ValueError, match='different domains'):
        RetrievalConcatDataset(datasets=[a, person], dedupe=None)


def test_person_pid_offsets(person_root):
    cuhk = dict(type='CUHKPEDESDataset', ann_file='reid_raw.json',
                data_root=str(person_root['CUHK-PEDES']),
                data_prefix=dict(img_path='imgs'))
    rstp = dict(type='RSTPReidDataset', ann_file='data_captions.json',
                data_root=str(person_root['RSTPReid']),
                data_prefix=dict(img_path='imgs'))
    ds = RetrievalConcatDataset(datasets=[cuhk, rstp], dedupe=None)
    assert ds.num_classes == 6
    assert ds.image_pids == [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5, 5]
    assert ds.get_data_info(0)['label'] == -1
    te = RetrievalConcatDataset(
        datasets=[dict(cuhk, split='test'), dict(rstp, split='test')],
        dedupe=None, split='test', test_mode=True)
    assert te.image_pids == [0, 0, 1, 1, 2, 2, 3, 3]
    assert te.text_pids[:4] == [0, 0, 0, 0]


def test_ahash_resized_tif_copy_and_verification(two_sets, tmp_path):
    """A resized tif copy of a png is a duplicate; two images that share
    only a coarse layout collide in the hash but fail the pixel check."""
    a, _ = two_sets
    c = tmp_path / 'C'
    (c / 'images').mkdir(parents=True)
    img = cv2.imread(f"{a['data_root']}/images/forest_3.png")
    cv2.imwrite(str(c / 'images' / 'forest_30.tif'),
                cv2.resize(img, (56, 56), interpolation=cv2.INTER_AREA))
    # same layout (left half dark, right half bright), different details
    rng = __import__('numpy').random.default_rng(0)
    for k in (1, 2):
        im = __import__('numpy').zeros((64, 64, 3), 'uint8')
        im[:, 32:] = 200
        im = (im + rng.integers(0, 40, im.shape)).astype('uint8')
        cv2.rectangle(im, (4 + 20 * k, 10), (12 + 20 * k, 20), (90,) * 3, -1)
        cv2.imwrite(str(c / 'images' / f'field_{k}.png'), im)
    c_cfg = _karpathy(c, [('forest_30.tif', 'train', 1),
                          ('field_1.png', 'train', 1),
                          ('field_2.png', 'train', 1)])
    ds = RetrievalConcatDataset(datasets=[a, c_cfg], dedupe='ahash')
    assert [r['img_path'].split('/')[-1] for r in ds.removed_duplicates] \
        == ['forest_30.tif']
    hash_only = RetrievalConcatDataset(datasets=[a, c_cfg], dedupe='ahash',
                                       ahash_verify=None)
    assert {r['img_path'].split('/')[-1]
            for r in hash_only.removed_duplicates} == {'forest_30.tif',
                                                       'field_2.png'}
