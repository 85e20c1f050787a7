"""Synthetic generators: determinism, real formats, content, caching."""
import json
import os
import runpy
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import pytest

from sdtr.datasets import make_synthetic_person, make_synthetic_rs
from sdtr.datasets.synthetic.cli import main as cli_main
from sdtr.datasets.synthetic.rs import COLOUR_NAMES, SCENES
from sdtr.datasets.utils import scene_name_from_filename
from sdtr.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
SMALL_RS = dict(num_train=30, num_val=10, num_test=10, img_size=32)
SMALL_P = dict(num_train_ids=6, num_val_ids=2, num_test_ids=3,
               images_per_id=3, img_size=(48, 16))


def files_of(root):
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted(root.rglob('*')) if p.is_file()}


def test_rs_deterministic_bytes(tmp_path):
    a = make_synthetic_rs(out_dir=str(tmp_path / 'a'), seed=0, **SMALL_RS)
    b = make_synthetic_rs(out_dir=str(tmp_path / 'b'), seed=0, **SMALL_RS)
    c = make_synthetic_rs(out_dir=str(tmp_path / 'c'), seed=1, **SMALL_RS)
    fa, fb, fc = files_of(a), files_of(b), files_of(c)
    fa.pop('meta.json'), fb.pop('meta.json'), fc.pop('meta.json')
    assert fa == fb
    assert fa.keys() == fc.keys() and fa != fc
    assert 'images/airport_0.png' in fa
    assert {'karpathy/dataset_synthetic_rs.json', 'galr/train_caps.txt',
            'galr/val_filename_verify.txt', 'galr/test_filename.txt',
            'coco/captions_test.json', 'pir/synthetic_rs_train.json'} <= \
        set(fa)


def test_person_deterministic_bytes(tmp_path):
    a = make_synthetic_person(out_dir=str(tmp_path / 'a'), **SMALL_P)
    b = make_synthetic_person(out_dir=str(tmp_path / 'b'), **SMALL_P)
    c = make_synthetic_person(out_dir=str(tmp_path / 'c'), seed=5, **SMALL_P)
    fa, fb, fc = files_of(a), files_of(b), files_of(c)
    for f in (fa, fb, fc):
        f.pop('meta.json')
    assert fa == fb and fa != fc
    assert {'CUHK-PEDES/reid_raw.json', 'ICFG-PEDES/ICFG-PEDES.json',
            'RSTPReid/data_captions.json'} <= set(fa)


@pytest.fixture(scope='module')
def rs_default():
    """The default synthetic RS data (what the configs use), in the test
    session cache."""
    return make_synthetic_rs()


def test_rs_content(rs_default):
    meta = json.loads((Path(rs_default) / 'meta.json').read_text())
    items = meta['images']
    assert meta['counts'] == dict(train=480, val=80, test=120)
    assert len({it['scene'] for it in items}) >= 8
    seen = set()
    for it in items:
        caps = it['captions']
        assert len(caps) == 5 and len(set(caps)) == 5
        for c in caps:  # captions name what is drawn
            low = c.lower()
            assert it['colour'] in low
            assert it['place'].split(' ')[-1] in low or \
                {'top left': 'upper left', 'top right': 'upper right',
                 'bottom left': 'lower left', 'bottom right': 'lower right',
                 'centre': 'middle'}[it['place']] in low
        assert scene_name_from_filename(it['filename']) == it['scene']
        key = (it['scene'], it['kind'], it['colour'], it['count'],
               it['place'])
        assert key not in seen  # every image is distinguishable
        seen.add(key)
    img = cv2.imread(str(Path(rs_default) / 'images' / items[0]['filename']))
    assert img.shape == (64, 64, 3)
    assert set(COLOUR_NAMES) >= {it['colour'] for it in items}
    assert len(SCENES) == 10


def test_rs_formats_give_same_data(rs_default):
    for split in ('train', 'val', 'test'):
        ref = None
        for fmt in ('karpathy', 'galr', 'coco', 'pir'):
            ds = DATASETS.build(dict(type='SyntheticRSCaptionDataset',
                                     format=fmt,
                                     split=split, test_mode=True))
            got = (ds.img_paths, ds.captions,
                   ds.metainfo['scene_classes'])
            assert ref is None or got == ref, (fmt, split)
            ref = got
        assert len(ref[2]) == 10
    assert type(ds).__name__ == 'PIRCaptionDataset'


def test_person_content():
    root = Path(make_synthetic_person())
    meta = json.loads((root / 'meta.json').read_text())
    attrs = [tuple(i['attrs']) for i in meta['identities']]
    assert len(set(attrs)) == len(attrs) == 64 + 16 + 32
    cuhk = json.loads((root / 'CUHK-PEDES' / 'reid_raw.json').read_text())
    by_split = {}
    for e in cuhk:
        by_split.setdefault(e['split'], set()).add(e['id'])
        assert len(e['captions']) == 2
        assert len(set(e['captions'])) == 2
    assert by_split['train'] == set(range(1, 65))  # 1-based, contiguous
    assert not by_split['train'] & by_split['test']
    assert not by_split['val'] & by_split['test']
    img = cv2.imread(str(root / 'CUHK-PEDES' / 'imgs' / cuhk[0]['file_path']))
    assert img.shape == (96, 32, 3)
    icfg = json.loads((root / 'ICFG-PEDES' / 'ICFG-PEDES.json').read_text())
    assert {e['split'] for e in icfg} == {'train', 'test'}
    ds = DATASETS.build(dict(type='SyntheticPersonCaptionDataset',
                             format='rstpreid', split='test',
                             test_mode=True))
    assert ds.num_images == 32 * 4 and ds.num_texts == 32 * 4 * 2
    # several images per identity
    assert set(__import__('collections').Counter(
        ds.image_pids).values()) == {4}
    with pytest.raises(ValueError, match='no val split'):
        DATASETS.build(dict(type='SyntheticPersonCaptionDataset',
                            format='icfgpedes', split='val'))


def test_cache_reuse_and_location(monkeypatch, tmp_path):
    monkeypatch.setenv('SDTR_CACHE', str(tmp_path / 'cache'))
    p1 = make_synthetic_rs(**SMALL_RS)
    assert p1.startswith(str(tmp_path / 'cache' / 'synthetic' /
                             'synthetic_rs-v1-'))
    stamp = os.stat(Path(p1) / 'meta.json').st_mtime_ns
    assert make_synthetic_rs(**SMALL_RS) == p1
    assert os.stat(Path(p1) / 'meta.json').st_mtime_ns == stamp
    assert make_synthetic_rs(seed=2, **SMALL_RS) != p1
    # an explicit out_dir that holds something else is not overwritten
    other = tmp_path / 'mine'
    other.mkdir()
    (other / 'x.txt').write_text('keep')
    with pytest.raises(FileExistsError):
        make_synthetic_rs(out_dir=str(other), **SMALL_RS)
    with pytest.raises(FileExistsError, match='other parameters'):
        make_synthetic_rs(out_dir=p1, seed=3, **SMALL_RS)


def _gen(cache):
    os.environ['SDTR_CACHE'] = cache
    return make_synthetic_rs(**SMALL_RS)


def test_concurrent_generation_is_atomic(tmp_path):
    cache = str(tmp_path / 'cache')
    with ProcessPoolExecutor(3) as pool:
        paths = list(pool.map(_gen, [cache] * 3))
    assert len(set(paths)) == 1
    folder = Path(paths[0]).parent
    assert [p.name for p in folder.iterdir()] == [Path(paths[0]).name]
    assert (Path(paths[0]) / 'meta.json').is_file()
    assert len(list((Path(paths[0]) / 'images').iterdir())) == 50


def test_cli_and_tool_script(tmp_path, capsys, monkeypatch):
    assert cli_main(['rs', '--out-dir', str(tmp_path / 'rs'), '--num-train',
                     '10', '--num-val', '2', '--num-test', '3',
                     '--img-size', '16', '--rs-formats', 'galr']) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / 'rs') in out and "'train': 10" in out
    assert (tmp_path / 'rs' / 'galr' / 'train_caps.txt').is_file()
    assert not (tmp_path / 'rs' / 'karpathy').exists()
    monkeypatch.setattr(sys, 'argv', [
        'make_synthetic.py', 'person', '--out-dir', str(tmp_path / 'p'),
        '--num-train-ids', '3', '--num-val-ids', '1', '--num-test-ids', '2',
        '--images-per-id', '2', '--person-size', '32', '16'])
    with pytest.raises(SystemExit) as ex:
        runpy.run_path(
            str(REPO / 'tools' / 'dataset_converters' / 'make_synthetic.py'),
            run_name='__main__')
    assert ex.value.code == 0
    assert (tmp_path / 'p' / 'RSTPReid' / 'data_captions.json').is_file()
