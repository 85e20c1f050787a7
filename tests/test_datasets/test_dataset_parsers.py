"""Every annotation parser on tiny fixtures in the real formats."""
import pytest
from conftest import PERSON, RS_IMAGES, caps_of, dump_json, write_image

from sdtr.datasets import (CUHKPEDESDataset, ICFGPEDESDataset,
                           COCOCaptionDataset,
                           GaLRCaptionDataset, KarpathyCaptionDataset,
                           PIRCaptionDataset, RSTPReidDataset)
from sdtr.datasets.utils import UCM_CLASSES, scene_name_from_filename
from sdtr.registry import DATASETS

TRAIN_FIELDS = {'text', 'image_id', 'pid', 'label', 'img_path',
                'sample_idx'}
TEST_FIELDS = {'texts', 'text_ids', 'image_id', 'pid', 'text_pids', 'label',
               'img_path', 'sample_idx'}


def rs_kwargs(fmt, root, split):
    return {
        'karpathy': dict(type='KarpathyCaptionDataset',
                         ann_file='karpathy.json'),
        'galr': dict(type='GaLRCaptionDataset', ann_file='precomp'),
        'coco': dict(type='COCOCaptionDataset',
                     ann_file=f'coco_{split}.json'),
        'pir': dict(type='PIRCaptionDataset', ann_file=f'pir_{split}.json'),
    }[fmt] | dict(data_root=str(root), data_prefix=dict(img_path='images'),
                  split=split)


@pytest.mark.parametrize('fmt', ['karpathy', 'galr', 'coco', 'pir'])
@pytest.mark.parametrize('split', ['train', 'val', 'test'])
def test_rs_formats_agree(rs_root, fmt, split):
    names = RS_IMAGES[split]
    train = DATASETS.build(rs_kwargs(fmt, rs_root, split))
    assert len(train) == 5 * len(names)
    info = train.get_data_info(6 if len(names) > 1 else 1)
    assert set(info) == TRAIN_FIELDS
    assert info['pid'] == info['image_id']
    assert [r['img_path'].split('/')[-1] for r in train.image_records] == \
        names
    assert train.captions == [c for n in names for c in caps_of(n)]

    test = DATASETS.build(rs_kwargs(fmt, rs_root, split) |
                          dict(test_mode=True))
    assert len(test) == test.num_images == len(names)
    assert test.num_texts == 5 * len(names)
    assert test.txt2img == [i for i in range(len(names)) for _ in range(5)]
    assert test.image_pids == list(range(len(names)))
    assert test.text_pids == test.txt2img
    for i in range(len(test)):
        item = test.get_data_info(i)
        assert set(item) == TEST_FIELDS
        assert item['image_id'] == item['sample_idx'] == i
        assert item['text_ids'] == list(range(5 * i, 5 * i + 5))
        assert item['texts'] == caps_of(names[i])
        assert item['text_pids'] == [i] * 5


def test_scene_labels_sorted_and_singletons(rs_root):
    ds = KarpathyCaptionDataset(
        ann_file='karpathy.json', data_root=str(rs_root),
        data_prefix=dict(img_path='images'), split='train', test_mode=True)
    # airport_1, airport_2, beach_3, 00578.jpg (numeric -> own class)
    assert ds.metainfo['scene_classes'] == ['00578.jpg', 'airport', 'beach']
    assert [ds.get_data_info(i)['label'] for i in range(4)] == [1, 1, 2, 0]
    assert ds.metainfo['num_images'] == 4
    assert ds.metainfo['num_texts'] == 20
    # a fixed class list from metainfo; unknown names get -1
    ds2 = KarpathyCaptionDataset(
        ann_file='karpathy.json', data_root=str(rs_root),
        data_prefix=dict(img_path='images'), split='train', test_mode=True,
        metainfo=dict(scene_classes=['beach', 'airport']))
    assert [ds2.get_data_info(i)['label'] for i in range(4)] == [1, 1, 0, -1]
    ds3 = KarpathyCaptionDataset(
        ann_file='karpathy.json', data_root=str(rs_root),
        data_prefix=dict(img_path='images'), split='train', scene_rule=None)
    assert {ds3.get_data_info(i)['label'] for i in range(len(ds3))} == {-1}


def test_scene_rules():
    assert scene_name_from_filename('a/airport_17.jpg') == 'airport'
    assert scene_name_from_filename('00578.jpg') == '00578.jpg'
    assert scene_name_from_filename('sparse_residential_3.tif') == 'sparse'
    assert scene_name_from_filename('1.tif', 'ucm') == 'agricultural'
    assert scene_name_from_filename('100.tif', 'ucm') == 'agricultural'
    assert scene_name_from_filename('101.tif', 'ucm') == 'airplane'
    assert scene_name_from_filename('2100.tif', 'ucm') == 'tenniscourt'
    assert scene_name_from_filename('beach_3.tif', 'ucm') == 'beach'
    assert len(UCM_CLASSES) == 21
    assert scene_name_from_filename('x_1.jpg', None) is None
    with pytest.raises(ValueError):
        scene_name_from_filename('x_1.jpg', 'nope')


def test_ucm_rule_in_dataset(tmp_path):
    for n in (1, 150, 2100):
        write_image(tmp_path / 'imgs' / f'{n}.tif', seed=n)
    dump_json(tmp_path / 'dataset.json', dict(images=[
        dict(filename=f'{n}.tif', split='test',
             sentences=[dict(raw=f'image {n}')]) for n in (1, 150, 2100)]))
    ds = KarpathyCaptionDataset(
        ann_file='dataset.json', data_root=str(tmp_path),
        data_prefix=dict(img_path='imgs'), split='test', test_mode=True,
        scene_rule='ucm')
    assert ds.metainfo['scene_classes'] == [
        'agricultural', 'airplane', 'tenniscourt']
    assert [ds.get_data_info(i)['label'] for i in range(3)] == [0, 1, 2]


def test_karpathy_restval_and_filepath(tmp_path):
    write_image(tmp_path / 'imgs' / 'sub' / 'a_1.jpg', seed=1)
    write_image(tmp_path / 'imgs' / 'b_2.jpg', seed=2)
    dump_json(tmp_path / 'k.json', dict(images=[
        dict(filename='a_1.jpg', filepath='sub', split='restval',
             sentences=[dict(raw='x')]),
        dict(filename='b_2.jpg', split='train', sentences=[dict(raw='y')])
    ]))
    ds = KarpathyCaptionDataset(ann_file='k.json', data_root=str(tmp_path),
                                data_prefix=dict(img_path='imgs'))
    assert ds.num_images == 2
    assert ds.img_paths[0].endswith('imgs/sub/a_1.jpg')
    ds = KarpathyCaptionDataset(ann_file='k.json', data_root=str(tmp_path),
                                data_prefix=dict(img_path='imgs'),
                                split_names=dict(train=['train']))
    assert ds.num_images == 1


def test_pir_label_name_and_grouping(tmp_path):
    write_image(tmp_path / 'train' / 'x_1.tif', seed=1)
    write_image(tmp_path / 'train' / 'y_2.tif', seed=2)
    dump_json(tmp_path / 'tr.json', [
        dict(image='train/x_1.tif', caption='a', image_id=7,
             label_name='bridge', label=0),
        dict(image='train/y_2.tif', caption='b', image_id=8,
             label_name='airport', label=1),
        dict(image='train/x_1.tif', caption='c', image_id=7,
             label_name='bridge', label=0),
    ])
    ds = PIRCaptionDataset(ann_file='tr.json', data_root=str(tmp_path))
    assert ds.num_images == 2 and len(ds) == 3
    assert ds.captions == ['a', 'c', 'b']
    assert ds.metainfo['scene_classes'] == ['airport', 'bridge']
    assert [ds.get_data_info(i)['label'] for i in range(3)] == [1, 1, 0]
    assert [ds.get_data_info(i)['image_id'] for i in range(3)] == [0, 0, 1]


def test_galr_layout_detection(rs_root):
    tr = GaLRCaptionDataset(ann_file='precomp', data_root=str(rs_root),
                            data_prefix=dict(img_path='images'))
    te = GaLRCaptionDataset(ann_file='precomp', data_root=str(rs_root),
                            data_prefix=dict(img_path='images'),
                            split='test')
    assert tr.layout == 'per_image' and te.layout == 'per_caption'
    # configurable split -> file mapping
    va = GaLRCaptionDataset(
        ann_file='precomp', data_root=str(rs_root),
        data_prefix=dict(img_path='images'), split='val',
        split_files=dict(val=('test_caps.txt', 'test_filename.txt')))
    assert va.num_images == 2


def test_coco_caption_order(rs_root):
    ds = COCOCaptionDataset(ann_file='coco_test.json', data_root=str(rs_root),
                            data_prefix=dict(img_path='images'), split='test',
                            test_mode=True)
    assert ds.get_data_info(1)['texts'] == caps_of('harbor_10.jpg')


def test_cuhkpedes(person_root):
    root = person_root['CUHK-PEDES']
    kw = dict(ann_file='reid_raw.json', data_root=str(root),
              data_prefix=dict(img_path='imgs'))
    tr = CUHKPEDESDataset(split='train', **kw)
    assert tr.irra_compatible_ids is True
    assert tr.num_images == 7 and len(tr) == 14 and tr.num_classes == 3
    # pid == id - 1 (ids 1..3)
    assert sorted(set(tr.image_pids)) == [0, 1, 2]
    assert tr.image_pids == [0, 0, 1, 1, 1, 2, 2]
    assert tr.metainfo['num_classes'] == 3
    info = tr.get_data_info(0)
    assert info['label'] == -1 and info['pid'] == 0
    va = CUHKPEDESDataset(split='val', test_mode=True, **kw)
    assert va.num_images == 2 and va.image_pids == [4, 4]
    te = CUHKPEDESDataset(split='test', test_mode=True, **kw)
    assert te.image_pids == [5, 5, 6, 6]
    assert te.text_pids == [5, 5, 5, 5, 6, 6, 6, 6]
    assert te.txt2img == [0, 0, 1, 1, 2, 2, 3, 3]


def test_cuhkpedes_noncontiguous_ids(tmp_path):
    write_image(tmp_path / 'imgs' / 'a.jpg', seed=1)
    write_image(tmp_path / 'imgs' / 'b.jpg', seed=2)
    dump_json(tmp_path / 'reid_raw.json', [
        dict(split='train', id=3, file_path='a.jpg', captions=['x']),
        dict(split='train', id=10, file_path='b.jpg', captions=['y'])])
    kw = dict(ann_file='reid_raw.json', data_root=str(tmp_path),
              data_prefix=dict(img_path='imgs'))
    ds = CUHKPEDESDataset(**kw)
    assert ds.irra_compatible_ids is False
    assert ds.image_pids == [0, 1]
    with pytest.raises(ValueError, match='not contiguous'):
        CUHKPEDESDataset(strict_irra_ids=True, **kw)


def test_icfg_and_rstpreid(person_root):
    kw = dict(data_prefix=dict(img_path='imgs'))
    ic = ICFGPEDESDataset(ann_file='ICFG-PEDES.json',
                   data_root=str(person_root['ICFG-PEDES']), **kw)
    assert ic.num_classes == 3 and ic.image_pids[0] == 0
    ict = ICFGPEDESDataset(ann_file='ICFG-PEDES.json', split='test',
                           test_mode=True,
                    data_root=str(person_root['ICFG-PEDES']), **kw)
    assert ict.image_pids == [4, 4, 5, 5]
    rs = RSTPReidDataset(ann_file='data_captions.json',
                  data_root=str(person_root['RSTPReid']), **kw)
    assert rs.image_pids == [0, 0, 1, 1, 1, 2, 2]
    rv = RSTPReidDataset(ann_file='data_captions.json', split='val',
                         test_mode=True,
                  data_root=str(person_root['RSTPReid']), **kw)
    assert rv.num_images == 2 and rv.num_texts == 4
    assert sum(n for s, _, n in PERSON if s == 'train') == rs.num_images


def test_indices_select_images(rs_root):
    ds = KarpathyCaptionDataset(
        ann_file='karpathy.json', data_root=str(rs_root),
        data_prefix=dict(img_path='images'), split='train', test_mode=True,
        indices=[3, 1])
    assert ds.num_images == 2 and ds.num_texts == 10
    assert ds.get_data_info(1)['text_ids'] == list(range(5, 10))
    assert ds.img_paths[0].endswith('00578.jpg')
    ds = KarpathyCaptionDataset(
        ann_file='karpathy.json', data_root=str(rs_root),
        data_prefix=dict(img_path='images'), split='train', indices=1)
    assert len(ds) == 5


def test_lazy_init_and_pids(rs_root):
    ds = KarpathyCaptionDataset(
        ann_file='karpathy.json', data_root=str(rs_root),
        data_prefix=dict(img_path='images'), lazy_init=True)
    assert ds.num_images == 4  # full_init on demand
    assert ds.get_pids().tolist() == [i for i in range(4) for _ in range(5)]
    assert ds.get_cat_ids(0) == [1]
