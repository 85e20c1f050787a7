"""The named split bases (configs/_base_/datasets/rs{itmd,icd}_*.py) build
every split from files in their documented layout, the method configs use
the split of their paper, and the public annotation files give the counts
the bases and docs/datasets.md state."""
import copy
import json
import runpy
from pathlib import Path

import pytest
from conftest import dump_json, write_image
from mmengine.config import Config

from sdtr.registry import DATASETS

REPO = Path(__file__).resolve().parents[2]
CFG_DIR = REPO / 'configs' / '_base_' / 'datasets'
RS = (REPO / '..' / 'shared' / 'data' / 'rs_annotations').resolve()

# a tiny dataset per split: image -> number of captions (0 = 5 empty ones)
SPLIT = {
    'train': {'bridge_1': 5, 'bridge_2': 5, 'port_3': 5, '00004': 5},
    'val': {'port_5': 5, 'beach_6': 0},
    'test': {'beach_7': 5, 'pond_8': 0, 'farm_9': 5},
}


def caps(name, k):
    return [f'{name} caption {j}' if k else '' for j in range(5)]


def write_layout(root, ext, img_dir, ds):
    """The files of every named base of dataset ``ds`` under ``root``:
    flat images, GaLR txt (train/test), PIR json (paths with split
    folders, as released) and a Karpathy json."""
    for split, items in SPLIT.items():
        for i, name in enumerate(items):
            write_image(root / img_dir / f'{name}.{ext}', seed=len(name) + i)
    pre = root / f'{ds}_precomp'
    pre.mkdir(parents=True)
    for split in ('train', 'test'):
        items = SPLIT[split]
        lines = [c for n, k in items.items() for c in caps(n, k)]
        names = [f'{n}.{ext}' for n in items] if split == 'train' else [
            f'{n}.{ext}' for n in items for _ in range(5)]
        (pre / f'{split}_caps.txt').write_text('\n'.join(lines) + '\n')
        (pre / f'{split}_filename.txt').write_text('\n'.join(names) + '\n')
    for split, items in SPLIT.items():
        if split == 'train':
            pir = [dict(image=f'train/{n}.{ext}', caption=c, image_id=i,
                        label_name=n.split('_')[0])
                   for i, (n, k) in enumerate(items.items())
                   for c in caps(n, k)]
        else:
            pir = [dict(image=f'{split}/{n}.{ext}', caption=caps(n, k))
                   for n, k in items.items()]
        dump_json(root / 'finetune' / f'{ds}_{split}.json', pir)
    dump_json(root / f'dataset_{ds}.json', dict(images=[
        dict(filename=f'{n}.{ext}', split=s,
             sentences=[dict(raw=c) for c in caps(n, k)])
        for s, items in SPLIT.items() for n, k in items.items()]))


@pytest.fixture
def data_roots(tmp_path):
    rsitmd = tmp_path / 'rsitmd'
    write_layout(rsitmd, 'tif', 'images', 'rsitmd')
    rsicd = tmp_path / 'rsicd'
    write_layout(rsicd, 'jpg', 'RSICD_images', 'rsicd')
    return dict(rsitmd=rsitmd, rsicd=rsicd)


def build(cfg, split, **over):
    dl = cfg.get(f'{split}_dataloader')
    if dl is None:
        return None
    ds = copy.deepcopy(dl['dataset'].to_dict())
    ds.update(over)
    return DATASETS.build(ds)


BASES = {  # base -> (type, has val)
    'rsitmd_galr': ('GaLRCaptionDataset', False),
    'rsitmd_pir': ('PIRCaptionDataset', True),
    'rsicd_galr': ('GaLRCaptionDataset', False),
    'rsicd_pir': ('PIRCaptionDataset', True),
    'rsicd_karpathy': ('KarpathyCaptionDataset', True),
}


@pytest.mark.parametrize('name', sorted(BASES))
def test_named_base_builds_every_split(name, data_roots):
    cfg = Config.fromfile(str(CFG_DIR / f'{name}.py'))
    typ, has_val = BASES[name]
    root = data_roots[name.split('_')[0]]
    assert cfg.train_dataloader.dataset.type == typ
    assert (cfg.val_dataloader is not None) == has_val
    assert (cfg.val_evaluator is not None) == has_val
    names = {}
    for split in ('train', 'val', 'test'):
        ds = build(cfg, split, data_root=str(root))
        if ds is None:
            assert split == 'val' and not has_val
            continue
        assert ds.test_mode == (split != 'train')
        kept = [n for n, k in SPLIT[split].items() if k]
        names[split] = [Path(p).stem for p in ds.img_paths]
        assert names[split] == kept, (name, split)
        assert ds.num_texts == 5 * len(kept)
        # the image whose captions are all empty is skipped and reported
        empty = [n for n, k in SPLIT[split].items() if not k]
        assert [Path(s['image']).stem for s in ds.skipped_samples] == empty
        # every image is read from the one flat image folder
        assert all(Path(p).parent.name in ('images', 'RSICD_images')
                   for p in ds.img_paths)
    assert not set(names['train']) & set(names['test'])
    if has_val:
        assert not set(names['val']) & set(names['train'] + names['test'])


# every method config trains on the split its paper used
PAPER_SPLIT = {
    'configs/clip/clip_vit-b16_1xb128_rsitmd-galr.py': 'rsitmd_precomp',
    'configs/clip/clip_vit-b16_1xb128_rsicd-galr.py': 'rsicd_precomp',
    'configs/eklsr/eklsr_vit-b16_1xb128_rsitmd-galr.py': 'rsitmd_precomp',
    'configs/eklsr/eklsr_vit-b16_1xb128_rsicd-galr.py': 'rsicd_precomp',
    'configs/vfe_tps/vfe-tps_vit-b16_1xb100_rsitmd-galr.py': 'rsitmd_precomp',
    'configs/pir_itr/pir-itr_swin-t-bert_2xb128_rsitmd-pir.py':
    'finetune/rsitmd_train.json',
    'configs/pir_itr/pir-itr_swin-t-bert_2xb128_rsicd-pir.py':
    'finetune/rsicd_train.json',
    'configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_rsitmd-pir.py':
    'finetune/rsitmd_train.json',
    # PIR-CLIP's release evaluates RSICD on the RSICD release's split
    'configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_rsicd-karpathy.py':
    'dataset_rsicd.json',
}


@pytest.mark.parametrize('path', sorted(PAPER_SPLIT))
def test_method_configs_use_their_papers_split(path):
    cfg = Config.fromfile(str(REPO / path))
    assert cfg.train_dataloader.dataset.ann_file == PAPER_SPLIT[path]
    if PAPER_SPLIT[path].endswith('_precomp'):
        # AMFMN/GaLR protocol: all 4,291 / 9,828 non-test images train,
        # no val split, so no validation and no "best" checkpoint
        assert cfg.train_dataloader.dataset.type == 'GaLRCaptionDataset'
        assert cfg.train_dataloader.dataset.split_files.train == (
            'train_caps.txt', 'train_filename.txt')
        assert cfg.val_dataloader is None and cfg.val_cfg is None
        assert cfg.val_evaluator is None
        assert cfg.default_hooks.checkpoint.save_best is None
    elif PAPER_SPLIT[path] == 'dataset_rsicd.json':
        # one Karpathy json holds the three splits
        assert cfg.train_dataloader.dataset.type == 'KarpathyCaptionDataset'
        for loader, split in ((cfg.val_dataloader, 'val'),
                              (cfg.test_dataloader, 'test')):
            assert loader.dataset.ann_file == 'dataset_rsicd.json'
            assert loader.dataset.split == split
        return
    else:
        assert cfg.val_dataloader.dataset.ann_file == PAPER_SPLIT[
            path].replace('_train', '_val')
    assert cfg.test_dataloader.dataset.ann_file == PAPER_SPLIT[path].replace(
        '_train', '_test')


def test_ret_members_use_the_pir_clip_release_splits():
    # RSICD: the RSICD release's split (PIR-CLIP's retrieval.py reads its
    # Karpathy json); RSITMD: PIR's split
    for name in ('ret2', 'ret3'):
        cfg = Config.fromfile(str(CFG_DIR / f'{name}.py'))
        members = cfg.train_dataloader.dataset.datasets
        assert [(d.ann_file, d.split) for d in members[:2]] == [
            ('dataset_rsicd.json', 'train'),
            ('finetune/rsitmd_train.json', 'train')]
        excl = {(d.ann_file, d.split)
                for d in cfg.train_dataloader.dataset.exclude}
        assert {('dataset_rsicd.json', 'test'), ('dataset_rsicd.json', 'val'),
                ('finetune/rsitmd_val.json', 'val'),
                ('finetune/rsitmd_test.json', 'test')} <= excl
        # RSITMD is the default benchmark; the -rsicd config swaps the one
        # key test_dataloader.dataset.datasets for RSICD's test split
        test = cfg.test_dataloader.dataset
        assert [d.ann_file for d in test.datasets] == [
            'finetune/rsitmd_test.json']
        rsicd = Config.fromfile(str(
            REPO / f'configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_{name}'
            '-rsicd.py'))
        assert [(d.ann_file, d.split)
                for d in rsicd.test_dataloader.dataset.datasets] == [
                    ('dataset_rsicd.json', 'test')]
        assert rsicd.train_dataloader == Config.fromfile(str(
            REPO / f'configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_{name}.py'
        )).train_dataloader


# ------------------------------------------------ the real public files
def _need(path):
    if not path.exists():
        pytest.skip(f'real annotation files not found at {path}')
    return path


@pytest.mark.parametrize('name,counts', [
    # split: (images, captions, caption-less images skipped)
    ('rsitmd_galr', dict(train=(4287, 21435, 4), test=(452, 2260, 0))),
    ('rsicd_galr', dict(train=(9828, 49140, 0), test=(1093, 5465, 0))),
])
def test_galr_bases_on_the_real_files(name, counts):
    _need(RS / 'galr_precomp' / f'{name.split("_")[0]}_precomp')
    cfg = Config.fromfile(str(CFG_DIR / f'{name}.py'))
    for split, (n_img, n_txt, n_empty) in counts.items():
        ds = build(cfg, split, data_root=str(RS / 'galr_precomp'),
                   check_images=False)
        assert (ds.num_images, ds.num_texts) == (n_img, n_txt), split
        assert len(ds.skipped_samples) == n_empty
        assert all(s['kind'] == 'no_caption' for s in ds.skipped_samples)


def test_real_split_overlaps():
    """The facts docs/datasets.md states about the public lists: GaLR's
    RSICD test list shares 108 images with the RSICD release's test list;
    GaLR train and test are disjoint."""
    galr = _need(RS / 'galr_precomp')
    coco = _need(RS / 'rsicd_coco' / 'captions_test2017.json')

    def names(ds, split):
        return set((galr / f'{ds}_precomp' / f'{split}_filename.txt')
                   .read_text().split())

    release_test = {i['file_name']
                    for i in json.loads(coco.read_text())['images']}
    assert len(names('rsicd', 'test')) == len(release_test) == 1093
    assert len(names('rsicd', 'test') & release_test) == 108
    for ds, n_train, n_test in (('rsitmd', 4291, 452),
                                ('rsicd', 9828, 1093)):
        tr, te = names(ds, 'train'), names(ds, 'test')
        assert (len(tr), len(te)) == (n_train, n_test)
        assert not tr & te


def test_release_test_list_is_inside_pirs_rsicd_train_images():
    """Why PIR-CLIP's RSICD configs train on the release split: 985 of the
    1,093 images of the RSICD release's test list (the one PIR-CLIP's
    retrieval.py evaluates) are AMFMN/GaLR train images, i.e. PIR's RSICD
    train + val; testing a model trained on PIR's split there would test on
    training images.  The PIR-CLIP RSICD config takes every split from the
    release's json."""
    galr = _need(RS / 'galr_precomp' / 'rsicd_precomp')
    coco = _need(RS / 'rsicd_coco' / 'captions_test2017.json')
    release_test = {i['file_name']
                    for i in json.loads(coco.read_text())['images']}
    amfmn_train = set((galr / 'train_filename.txt').read_text().split())
    assert len(release_test & amfmn_train) == 985
    cfg = Config.fromfile(str(
        REPO / 'configs/pir_clip/pir-clip_vit-b32-rn50_8xb64_rsicd-karpathy.py'))
    splits = {(loader.dataset.ann_file, loader.dataset.split)
              for loader in (cfg.train_dataloader, cfg.val_dataloader,
                             cfg.test_dataloader)}
    assert splits == {('dataset_rsicd.json', 'train'),
                      ('dataset_rsicd.json', 'val'),
                      ('dataset_rsicd.json', 'test')}


def test_verify_dataset_on_the_real_files(tmp_path, capsys):
    _need(RS / 'galr_precomp' / 'rsitmd_precomp')
    tool = runpy.run_path(str(REPO / 'tools' / 'misc' / 'verify_dataset.py'))
    opts = ['--cfg-options', f'train_dataloader.dataset.data_root='
            f'{RS / "galr_precomp"}',
            f'test_dataloader.dataset.data_root={RS / "galr_precomp"}']
    cfg = str(CFG_DIR / 'rsitmd_galr.py')
    rc = tool['main']([cfg, '--annotations-only'] + opts)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert '[train] GaLRCaptionDataset: 4287 images, 21435 captions' in out
    assert '[train] 4 images without any caption' in out
    assert out.count('  NOTE ') == 4 and 'mountain_2378.tif' in out
    assert '[val] no val_dataloader' in out
    assert '[test] GaLRCaptionDataset: 452 images, 2260 captions' in out
    # with image decoding: the images are not here, every one is listed
    bad = tmp_path / 'bad.txt'
    rc = tool['main']([cfg, '--split', 'test', '--out', str(bad)] + opts)
    out = capsys.readouterr().out
    assert rc == 1
    assert '[test] 452 images checked, 452 unreadable' in out
    assert len(bad.read_text().split()) == 452


def test_verify_dataset_reports_annotation_errors(tmp_path, capsys):
    """An annotation problem that stops the config's dataset is an error
    (exit 2), and every bad entry is listed, not only the first."""
    root = tmp_path / 'rsitmd'
    write_layout(root, 'tif', 'images', 'rsitmd')
    p = root / 'finetune' / 'rsitmd_test.json'
    data = json.loads(p.read_text())
    data[0]['caption'][2] = ''  # partly empty: an error in a gallery
    data[2]['caption'] = 7  # malformed
    p.write_text(json.dumps(data))
    tool = runpy.run_path(str(REPO / 'tools' / 'misc' / 'verify_dataset.py'))
    rc = tool['main']([
        str(CFG_DIR / 'rsitmd_pir.py'), '--split', 'test', '--cfg-options',
        f'test_dataloader.dataset.data_root={root}'])
    out = capsys.readouterr().out
    assert rc == 2, out
    assert '[test] annotation error' in out and 'rsitmd_test.json' in out
    assert out.count('  SKIP ') == 2
    assert "beach_7.tif" in out and '[2]' in out
    assert '[test] 1 images checked, 0 unreadable' in out
