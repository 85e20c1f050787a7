"""Bad input: every error names the file, the entry and what was expected;
``skip_bad_samples`` skips and reports."""
import json
import runpy
from pathlib import Path

import numpy as np
import pytest
from conftest import dump_json, write_image

from sdtr.datasets import (BadImageError, BadSampleError, CUHKPEDESDataset,
                           ICFGPEDESDataset, COCOCaptionDataset,
                           GaLRCaptionDataset,
                           KarpathyCaptionDataset, LoadImage,
                           PIRCaptionDataset, RSTPReidDataset)

REPO = Path(__file__).resolve().parents[2]
PIPE = [dict(type='LoadImage'), dict(type='PackRetrievalInputs')]


def karpathy(root, **kw):
    return KarpathyCaptionDataset(
        ann_file='karpathy.json', data_root=str(root),
        data_prefix=dict(img_path='images'), **kw)


def edit_karpathy(root, fn):
    p = root / 'karpathy.json'
    data = json.loads(p.read_text())
    fn(data['images'])
    p.write_text(json.dumps(data))


# --------------------------------------------------------------- images
def test_missing_image(rs_root):
    (rs_root / 'images' / 'airport_2.jpg').unlink()
    with pytest.raises(BadSampleError) as err:
        karpathy(rs_root)
    msg = str(err.value)
    assert 'karpathy.json' in msg and 'images[1]' in msg
    assert 'airport_2.jpg' in msg and 'does not exist' in msg
    ds = karpathy(rs_root, skip_bad_samples=True)
    assert ds.num_images == 3
    assert len(ds.skipped_samples) == 1
    s = ds.skipped_samples[0]
    assert s['file'].endswith('karpathy.json') and 'images[1]' in s['entry']


def test_corrupt_image_train_strict_and_skip(rs_root):
    (rs_root / 'images' / 'airport_2.jpg').write_bytes(b'not a jpeg' * 10)
    ds = karpathy(rs_root, pipeline=PIPE)
    idx = 5  # first caption of airport_2.jpg
    with pytest.raises(BadSampleError) as err:
        ds[idx]
    msg = str(err.value)
    assert 'karpathy.json' in msg and 'images[1]' in msg
    assert 'airport_2.jpg' in msg and 'skip_bad_samples' in msg
    assert 'verify_dataset.py' in msg

    ds = karpathy(rs_root, pipeline=PIPE, skip_bad_samples=True)
    np.random.seed(0)  # the replacement index is drawn with np.random
    out = ds[idx]  # re-sampled: another, readable image
    assert out['data_samples'].image_id != 1
    # the re-draw may hit the bad image again; every skip names it
    assert len(ds.skipped_samples) >= 1
    assert all('airport_2.jpg' in s['reason'] for s in ds.skipped_samples)


def test_corrupt_image_test_mode_never_skipped(rs_root):
    (rs_root / 'images' / 'airport_2.jpg').write_bytes(b'\xff\xd8garbage')
    ds = karpathy(rs_root, pipeline=PIPE, test_mode=True,
                  skip_bad_samples=True)
    with pytest.raises(BadSampleError) as err:
        ds[1]
    msg = str(err.value)
    assert 'gallery' in msg and 'verify_dataset.py' in msg
    assert 'karpathy.json' in msg and 'airport_2.jpg' in msg


def test_load_image_errors(tmp_path):
    with pytest.raises(BadImageError, match='not found') as err:
        LoadImage()(dict(img_path=str(tmp_path / 'nope.png')))
    assert 'nope.png' in str(err.value)
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    with pytest.raises(BadImageError, match='empty'):
        LoadImage()(dict(img_path=str(empty)))
    bad = tmp_path / 'bad.tif'
    bad.write_bytes(b'II*\x00garbage')
    with pytest.raises(BadImageError, match='cannot decode') as err:
        LoadImage()(dict(img_path=str(bad)))
    assert 'bad.tif' in str(err.value)
    gray = write_image(tmp_path / 'g.png', size=(8, 8))
    out = LoadImage()(dict(img_path=str(gray)))
    assert out['img'].shape == (8, 8, 3) and out['ori_shape'] == (8, 8)


# ---------------------------------------------------------- annotations
@pytest.mark.parametrize('edit,entry,expect', [
    (lambda imgs: imgs[2].pop('sentences'), 'images[2]',
     "missing key 'sentences'"),
    (lambda imgs: imgs[1].update(split=3), 'images[1]',
     "key 'split' should be str"),
    (lambda imgs: imgs[0]['sentences'][2].pop('raw'),
     "images[0] ('airport_1.jpg') sentences[2]", "missing key 'raw'"),
    (lambda imgs: imgs[0]['sentences'][1].update(raw='   '),
     "images[0] ('airport_1.jpg') sentences[1]", 'empty caption'),
    (lambda imgs: imgs[3].update(split='holdout'), 'images[3]',
     "unknown split value 'holdout'"),
])
def test_karpathy_malformed(rs_root, edit, entry, expect):
    edit_karpathy(rs_root, edit)
    with pytest.raises(BadSampleError) as err:
        karpathy(rs_root)
    msg = str(err.value)
    assert 'karpathy.json' in msg and entry in msg and expect in msg
    ds = karpathy(rs_root, skip_bad_samples=True)
    assert ds.skipped_samples and ds.skipped_samples[0]['entry'].startswith(
        entry.split(' ')[0])
    assert ds.num_images >= 3


def test_pir_malformed(rs_root):
    p = rs_root / 'pir_train.json'
    data = json.loads(p.read_text())
    data[3].pop('caption')
    data[7]['caption'] = 17
    p.write_text(json.dumps(data))
    kw = dict(ann_file='pir_train.json', data_root=str(rs_root),
              data_prefix=dict(img_path='images'))
    with pytest.raises(BadSampleError) as err:
        PIRCaptionDataset(**kw)
    assert 'pir_train.json' in str(err.value) and '[3]' in str(err.value)
    assert "missing key 'caption'" in str(err.value)
    ds = PIRCaptionDataset(skip_bad_samples=True, **kw)
    assert [s['entry'] for s in ds.skipped_samples] == ['[3]', '[7]']
    assert 'should be str/list' in ds.skipped_samples[1]['reason']
    assert len(ds) == 20 - 2
    # a json that is not a list
    dump_json(rs_root / 'pir_bad.json', dict(a=1))
    with pytest.raises(BadSampleError, match='expected a json list'):
        PIRCaptionDataset(ann_file='pir_bad.json', data_root=str(rs_root))


def test_coco_malformed(rs_root):
    p = rs_root / 'coco_test.json'
    data = json.loads(p.read_text())
    data['annotations'][2]['image_id'] = 999
    data['annotations'][4].pop('caption')
    p.write_text(json.dumps(data))
    kw = dict(ann_file='coco_test.json', data_root=str(rs_root),
              data_prefix=dict(img_path='images'), split='test')
    with pytest.raises(BadSampleError) as err:
        COCOCaptionDataset(**kw)
    assert 'coco_test.json' in str(err.value)
    assert 'annotations[2]' in str(err.value) and '999' in str(err.value)
    ds = COCOCaptionDataset(skip_bad_samples=True, **kw)
    assert len(ds.skipped_samples) == 2
    assert ds.num_texts == 10 - 2
    # a test-mode gallery never skips (tests/test_datasets/
    # test_empty_captions.py has the other gallery cases)
    with pytest.raises(BadSampleError, match='gallery'):
        COCOCaptionDataset(skip_bad_samples=True, test_mode=True, **kw)


def test_galr_mismatch_and_order(rs_root):
    g = rs_root / 'precomp'
    lines = (g / 'train_caps.txt').read_text().splitlines()
    (g / 'train_caps.txt').write_text('\n'.join(lines[:-1]) + '\n')
    with pytest.raises(BadSampleError) as err:
        GaLRCaptionDataset(ann_file='precomp', data_root=str(rs_root),
                           data_prefix=dict(img_path='images'))
    msg = str(err.value)
    assert 'train_caps.txt' in msg and 'train_filename.txt' in msg
    assert '19 caption lines' in msg
    # per-caption file whose image lines are not consecutive
    names = (g / 'test_filename.txt').read_text().splitlines()
    names[2], names[7] = names[7], names[2]
    (g / 'test_filename.txt').write_text('\n'.join(names) + '\n')
    with pytest.raises(BadSampleError) as err:
        GaLRCaptionDataset(ann_file='precomp', data_root=str(rs_root),
                           data_prefix=dict(img_path='images'), split='test')
    assert 'test_filename.txt' in str(err.value)
    # a missing split file
    with pytest.raises(BadSampleError, match='annotation file not found'):
        GaLRCaptionDataset(ann_file='precomp', data_root=str(rs_root),
                           split='val', split_files=dict(
                               val=('x_caps.txt', 'x_filename.txt')))


@pytest.mark.parametrize('cls,folder,ann,key', [
    (CUHKPEDESDataset, 'CUHK-PEDES', 'reid_raw.json', 'file_path'),
    (ICFGPEDESDataset, 'ICFG-PEDES', 'ICFG-PEDES.json', 'file_path'),
    (RSTPReidDataset, 'RSTPReid', 'data_captions.json', 'img_path'),
])
def test_person_malformed(person_root, cls, folder, ann, key):
    root = person_root[folder]
    data = json.loads((root / ann).read_text())
    data[1]['id'] = 'seven'
    data[2].pop(key)
    data[3]['captions'] = 'one string'
    (root / ann).write_text(json.dumps(data))
    kw = dict(ann_file=ann, data_root=str(root),
              data_prefix=dict(img_path='imgs'))
    with pytest.raises(BadSampleError) as err:
        cls(**kw)
    msg = str(err.value)
    assert ann in msg and '[1]' in msg and "key 'id' should be int" in msg
    ds = cls(skip_bad_samples=True, **kw)
    assert [s['entry'] for s in ds.skipped_samples] == ['[1]', '[2]', '[3]']
    assert f"missing key '{key}'" in ds.skipped_samples[1]['reason']


def test_unknown_split_and_icfg_val(rs_root, person_root):
    with pytest.raises(BadSampleError) as err:
        karpathy(rs_root, split='trainval')
    msg = str(err.value)
    assert 'karpathy.json' in msg and "'trainval'" in msg
    assert "['train', 'val', 'test']" in msg
    with pytest.raises(BadSampleError) as err:
        ICFGPEDESDataset(ann_file='ICFG-PEDES.json',
                  data_root=str(person_root['ICFG-PEDES']), split='val')
    msg = str(err.value)
    assert 'ICFG-PEDES has no val split' in msg
    assert 'val_cfg=None' in msg and 'test split' in msg


def test_invalid_json_and_missing_file(tmp_path):
    (tmp_path / 'k.json').write_text('{"images": [')
    with pytest.raises(BadSampleError, match='not valid json') as err:
        KarpathyCaptionDataset(ann_file=str(tmp_path / 'k.json'))
    assert 'k.json' in str(err.value)
    with pytest.raises(BadSampleError, match='annotation file not found'):
        KarpathyCaptionDataset(ann_file=str(tmp_path / 'none.json'))
    dump_json(tmp_path / 'k2.json', dict(pictures=[]))
    with pytest.raises(BadSampleError, match='"images"'):
        KarpathyCaptionDataset(ann_file=str(tmp_path / 'k2.json'))


# ------------------------------------------------------------ the tool
def test_verify_dataset_tool(rs_root, tmp_path, capsys):
    (rs_root / 'images' / 'beach_3.jpg').write_bytes(b'corrupt')
    (rs_root / 'images' / 'beach_9.jpg').unlink()
    cfg = tmp_path / 'cfg.py'
    ds = dict(type='KarpathyCaptionDataset', data_root=str(rs_root),
              ann_file='karpathy.json', data_prefix=dict(img_path='images'))
    cfg.write_text(
        'default_scope = "sdtr"\n'
        f'train_dataloader = dict(dataset=dict({ds!r}, split="train"))\n'
        f'test_dataloader = dict(dataset=dict({ds!r}, split="test",'
        ' test_mode=True))\n'
        'val_dataloader = None\n')
    tool = runpy.run_path(str(REPO / 'tools' / 'misc' / 'verify_dataset.py'))
    out_file = tmp_path / 'bad.txt'
    rc = tool['main']([str(cfg), '--out', str(out_file)])
    out = capsys.readouterr().out
    assert rc == 1
    assert '[train] 4 images checked, 1 unreadable' in out
    assert '[test] 2 images checked, 1 unreadable' in out
    assert '[val] no val_dataloader' in out
    bad = out_file.read_text().split()
    assert sorted(Path(p).name for p in bad) == ['beach_3.jpg',
                                                 'beach_9.jpg']
