"""Images whose captions are all empty are skipped in every split (with a
report naming the image and the annotation file); partly empty caption sets
and other bad entries stay errors; a test-mode gallery never shrinks."""
import json

import pytest
from conftest import dump_json, write_image

from sdtr.datasets import BadSampleError
from sdtr.registry import DATASETS

# per split: (image, number of non-empty captions); 0 = all 5 empty
SPLITS = {
    'train': [('airport_1.jpg', 5), ('beach_2.jpg', 0), ('forest_3.jpg', 5)],
    'val': [('harbor_4.jpg', 0), ('river_5.jpg', 5)],
    'test': [('desert_6.jpg', 5), ('park_7.jpg', 5), ('pond_8.jpg', 0)],
}
EMPTY = {s: [n for n, k in v if k == 0][0] for s, v in SPLITS.items()}


def caps(name, k):
    return [f'{name} caption {j}' if k else '' for j in range(5)]


@pytest.fixture
def rs_empty(tmp_path):
    """One data_root with the same captions in the Karpathy, GaLR (GaLR's
    train/test files, SWAN's *_verify train/val files), PIR and COCO
    layouts; one image of every split has 5 empty captions (the public
    RSITMD files have such images)."""
    root = tmp_path / 'rs'
    seed = 0
    for items in SPLITS.values():
        for name, _ in items:
            write_image(root / 'images' / name, seed=seed)
            seed += 1
    dump_json(root / 'karpathy.json', dict(images=[
        dict(filename=n, split=s, sentences=[dict(raw=c) for c in caps(n, k)])
        for s, items in SPLITS.items() for n, k in items]))
    g = root / 'precomp'
    g.mkdir()
    for split, caps_f, names_f, per_image in [
            ('train', 'train_caps.txt', 'train_filename.txt', True),
            ('train', 'train_caps_verify.txt', 'train_filename_verify.txt',
             True),
            ('val', 'val_caps_verify.txt', 'val_filename_verify.txt', False),
            ('test', 'test_caps.txt', 'test_filename.txt', False)]:
        items = SPLITS[split]
        lines = [c for n, k in items for c in caps(n, k)]
        names = [n for n, _ in items] if per_image else [
            n for n, _ in items for _ in range(5)]
        (g / caps_f).write_text('\n'.join(lines) + '\n')
        (g / names_f).write_text('\n'.join(names) + '\n')
    iid = 0
    for split, items in SPLITS.items():
        if split == 'train':  # PIR: one entry per caption
            pir = [dict(image=f'train/{n}', caption=c, image_id=i)
                   for i, (n, k) in enumerate(items) for c in caps(n, k)]
        else:  # one entry per image
            pir = [dict(image=f'{split}/{n}', caption=caps(n, k))
                   for n, k in items]
        dump_json(root / f'pir_{split}.json', pir)
        imgs, anns = [], []
        for n, k in items:
            imgs.append(dict(id=iid, file_name=n))
            if k:  # a COCO image without caption has no annotation at all
                anns += [dict(id=len(anns), image_id=iid, caption=c)
                         for c in caps(n, k)]
            iid += 1
        dump_json(root / f'coco_{split}.json',
                  dict(images=imgs, annotations=anns))
    return root


def build(fmt, root, split, **kw):
    cfg = {
        'karpathy': dict(type='KarpathyCaptionDataset',
                         ann_file='karpathy.json'),
        'galr': dict(type='GaLRCaptionDataset', ann_file='precomp'),
        'galr_verify': dict(
            type='GaLRCaptionDataset', ann_file='precomp',
            split_files=dict(train=('train_caps_verify.txt',
                                    'train_filename_verify.txt'))),
        'pir': dict(type='PIRCaptionDataset', ann_file=f'pir_{split}.json',
                    image_name_only=True),
        'coco': dict(type='COCOCaptionDataset',
                     ann_file=f'coco_{split}.json'),
    }[fmt]
    cfg.update(data_root=str(root), data_prefix=dict(img_path='images'),
               split=split, **kw)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('fmt', ['karpathy', 'galr', 'galr_verify', 'pir',
                                 'coco'])
@pytest.mark.parametrize('split', ['train', 'val', 'test'])
@pytest.mark.parametrize('test_mode', [False, True])
def test_captionless_image_skipped_in_every_split(rs_empty, fmt, split,
                                                  test_mode, mm_log):
    ds = build(fmt, rs_empty, split, test_mode=test_mode)  # no skip flag
    kept = [n for n, k in SPLITS[split] if k]
    assert [p.split('/')[-1] for p in ds.img_paths] == kept
    assert ds.num_texts == 5 * len(kept)
    assert len(ds) == (len(kept) if test_mode else 5 * len(kept))
    # ids stay contiguous over the kept images
    assert ds.image_pids == list(range(len(kept)))
    (rec, ) = ds.skipped_samples
    assert rec['kind'] == 'no_caption'
    assert rec['image'].split('/')[-1] == EMPTY[split]
    assert EMPTY[split] in rec['entry'] and EMPTY[split] in rec['reason']
    ann = {'karpathy': 'karpathy.json', 'pir': f'pir_{split}.json',
           'coco': f'coco_{split}.json'}.get(fmt, '_caps')
    assert ann in rec['file']
    (msg, ) = [m for m in mm_log if 'without any caption' in m]
    assert EMPTY[split] in msg and ann in msg


def test_captionless_person_entry_skipped(person_root):
    root = person_root['CUHK-PEDES']
    data = json.loads((root / 'reid_raw.json').read_text())
    test_idx = [i for i, e in enumerate(data) if e['split'] == 'test']
    data[test_idx[1]]['captions'] = ['', ' ']
    (root / 'reid_raw.json').write_text(json.dumps(data))
    ds = DATASETS.build(dict(type='CUHKPEDESDataset', ann_file='reid_raw.json',
                             data_root=str(root), split='test',
                             test_mode=True,
                             data_prefix=dict(img_path='imgs')))
    assert ds.num_images == len(test_idx) - 1
    (rec, ) = ds.skipped_samples
    assert rec['kind'] == 'no_caption' and f'[{test_idx[1]}]' in rec['entry']
    assert rec['image'] == data[test_idx[1]]['file_path']
    assert 'reid_raw.json' in rec['file']


def test_only_captionless_images_is_an_error(rs_empty):
    p = rs_empty / 'pir_val.json'
    data = json.loads(p.read_text())
    p.write_text(json.dumps([e for e in data if e['image'].endswith(
        EMPTY['val'])]))
    with pytest.raises(BadSampleError) as err:
        build('pir', rs_empty, 'val', test_mode=True)
    msg = str(err.value)
    assert 'pir_val.json' in msg and "no usable image in split 'val'" in msg


# ------------------------------------------------- partly empty captions
def _blank_one_caption(root, fmt, split):
    """Blank the 2nd caption of the first image of ``split``."""
    name = SPLITS[split][0][0]
    if fmt == 'karpathy':
        p = root / 'karpathy.json'
        data = json.loads(p.read_text())
        img = [i for i in data['images'] if i['filename'] == name][0]
        img['sentences'][1]['raw'] = '  '
        p.write_text(json.dumps(data))
    elif fmt == 'galr':
        p = root / 'precomp' / {'train': 'train_caps.txt',
                                'test': 'test_caps.txt'}[split]
        lines = p.read_text().splitlines()
        lines[1] = ''
        p.write_text('\n'.join(lines) + '\n')
    else:  # pir
        p = root / f'pir_{split}.json'
        data = json.loads(p.read_text())
        if split == 'train':
            data[1]['caption'] = ''
        else:
            data[0]['caption'][1] = ''
        p.write_text(json.dumps(data))
    return name


@pytest.mark.parametrize('fmt', ['karpathy', 'galr', 'pir'])
def test_partly_empty_captions(rs_empty, fmt):
    for split in ('train', 'test'):
        name = _blank_one_caption(rs_empty, fmt, split)
        # an error naming the file, the entry and the image
        with pytest.raises(BadSampleError) as err:
            build(fmt, rs_empty, split)
        msg = str(err.value)
        assert 'empty caption (1 of the 5 captions' in msg
        assert name in msg
        # a test-mode gallery raises even with skip_bad_samples=True
        with pytest.raises(BadSampleError) as err:
            build(fmt, rs_empty, split, test_mode=True,
                  skip_bad_samples=True)
        assert 'gallery' in str(err.value) and name in str(err.value)
    # a train-mode dataset with skip_bad_samples drops the empty caption
    ds = build(fmt, rs_empty, 'train', skip_bad_samples=True)
    assert ds.num_images == 2 and ds.num_texts == 9
    bad = [s for s in ds.skipped_samples if s['kind'] == 'bad_entry']
    assert len(bad) == 1 and bad[0]['image'].endswith('airport_1.jpg')


# ------------------------------------------------- galleries never shrink
def test_gallery_missing_image_raises_even_in_skip_mode(rs_empty):
    (rs_empty / 'images' / 'park_7.jpg').unlink()
    for fmt in ('karpathy', 'galr', 'pir', 'coco'):
        with pytest.raises(BadSampleError) as err:
            build(fmt, rs_empty, 'test', test_mode=True,
                  skip_bad_samples=True)
        msg = str(err.value)
        assert 'park_7.jpg' in msg and 'does not exist' in msg
        assert 'gallery' in msg and 'skip_bad_samples=True does not apply' \
            in msg
        # the annotation file and the entry are named
        assert {'karpathy': 'karpathy.json', 'galr': 'test_caps.txt',
                'pir': 'pir_test.json', 'coco': 'coco_test.json'}[fmt] in msg
        # a train-mode dataset skips and reports it
        ds = build(fmt, rs_empty, 'test', skip_bad_samples=True)
        assert ds.num_images == 1
        kinds = sorted(s['kind'] for s in ds.skipped_samples)
        assert kinds == ['bad_entry', 'no_caption']


def test_gallery_malformed_entry_raises_even_in_skip_mode(rs_empty):
    p = rs_empty / 'coco_test.json'
    data = json.loads(p.read_text())
    data['annotations'][3]['image_id'] = 999
    p.write_text(json.dumps(data))
    with pytest.raises(BadSampleError) as err:
        build('coco', rs_empty, 'test', test_mode=True,
              skip_bad_samples=True)
    msg = str(err.value)
    assert 'coco_test.json' in msg and 'annotations[3]' in msg
    assert '999' in msg and 'gallery' in msg


# ------------------------------------------------- misspelt arguments
@pytest.mark.parametrize('typ,extra', [
    ('KarpathyCaptionDataset', {}),
    ('GaLRCaptionDataset', {}),
    ('PIRCaptionDataset', {}),
    ('COCOCaptionDataset', {}),
    ('CUHKPEDESDataset', {}),
    ('RetrievalConcatDataset', dict(datasets=[])),
    ('SceneFolderDataset', dict(data_root='x')),
])
def test_misspelt_argument(typ, extra):
    with pytest.raises(TypeError) as err:
        DATASETS.build(dict(type=typ, spilt='train', **extra))
    msg = str(err.value)
    assert f'{typ} got unknown argument' in msg
    assert "'spilt' (did you mean 'split'?)" in msg
    assert 'accepts:' in msg and 'pipeline' in msg
    assert 'dataset=dict(...)' in msg


def test_misspelt_argument_of_a_subclass():
    with pytest.raises(TypeError) as err:
        DATASETS.build(dict(type='GaLRCaptionDataset', split_file={}))
    msg = str(err.value)
    assert "'split_file' (did you mean 'split_files'?)" in msg
    assert 'caps_per_image' in msg  # GaLR's own arguments are listed
    with pytest.raises(TypeError, match="did you mean 'image_name_only'"):
        DATASETS.build(dict(type='PIRCaptionDataset', image_names_only=True))
