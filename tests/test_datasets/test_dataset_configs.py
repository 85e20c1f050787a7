"""The base dataset configs: they parse, every type resolves from the sdtr
scope, and their pipelines run end to end (on synthetic data in the real
annotation formats) into the data-sample contract."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from sdtr.registry import DATA_SAMPLERS, DATASETS, TRANSFORMS

CFG_DIR = Path(__file__).resolve().parents[2] / 'configs' / '_base_' / \
    'datasets'
RS_CFGS = ['rsicd_galr', 'rsicd_pir', 'rsicd_karpathy', 'rsitmd_galr',
           'rsitmd_pir', 'ucm_captions', 'sydney_captions', 'ret2', 'ret3',
           'synthetic_rs']
PERSON_CFGS = ['cuhkpedes', 'icfgpedes', 'rstpreid', 'synthetic_person']
# training-only streaming configs (no test split; tested in
# tests/test_datasets/test_webdataset_captions.py)
STREAM_CFGS = ['rs5m_shards']
# shared loader settings of the remote-sensing bases (no dataset type)
PARTIAL_CFGS = ['rs_retrieval_common']
TRAIN_FIELDS = ('text', 'image_id', 'pid', 'label', 'img_path',
                'sample_idx')
TEST_FIELDS = ('texts', 'text_ids', 'image_id', 'pid', 'text_pids', 'label',
               'img_path', 'sample_idx')


def load(name):
    return Config.fromfile(str(CFG_DIR / f'{name}.py'))


def pipelines(cfg):
    return (cfg.train_dataloader.dataset.pipeline,
            cfg.test_dataloader.dataset.pipeline)


def hw(cfg):
    """(height, width) of the images of the test pipeline (its Resize)."""
    (scale, ) = [t['scale'] for t in pipelines(cfg)[1]
                 if t['type'] == 'Resize']
    return (scale[1], scale[0])


def test_all_configs_present_and_parse():
    names = sorted(p.stem for p in CFG_DIR.glob('*.py')
                   if p.stem not in STREAM_CFGS + PARTIAL_CFGS)
    assert names == sorted(RS_CFGS + PERSON_CFGS)
    for name in names:
        cfg = load(name)
        for key in ('train_dataloader', 'test_dataloader', 'test_evaluator'):
            assert key in cfg, (name, key)
        # training samples are drawn from (seed, epoch, index) seeds
        assert cfg.train_dataloader.sampler.type in (
            'SeededSampler', 'IdentityBalancedSampler')
        tdl = cfg.test_dataloader
        assert tdl.dataset.test_mode is True
        assert tdl.sampler == dict(type='DefaultSampler', shuffle=False)
        ev = 'PersonSearchMetric' if name in PERSON_CFGS else 'RSITRRecall'
        assert cfg.test_evaluator.type == ev
        if cfg.val_dataloader is not None:
            assert cfg.val_dataloader.dataset.test_mode is True
            assert cfg.val_dataloader.sampler.shuffle is False
            assert cfg.val_evaluator.type == ev
        # every transform and dataset type resolves from the sdtr scope
        train_pipe, test_pipe = pipelines(cfg)
        for t in train_pipe + test_pipe:
            assert TRANSFORMS.get(t['type']) is not None, t['type']
        assert DATASETS.get(cfg.train_dataloader.dataset.type) is not None


def test_icfg_has_no_val():
    cfg = load('icfgpedes')
    assert cfg.val_dataloader is None and cfg.val_evaluator is None
    assert 'val_cfg' not in cfg  # lives in the schedules (see the comment)
    assert 'NO VAL SPLIT' in (CFG_DIR / 'icfgpedes.py').read_text()


def run_loader(dl_cfg, dataset, n_batches=1):
    dl_cfg = copy.deepcopy(dict(dl_cfg))
    dl_cfg.update(dataset=dataset, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(dl_cfg, seed=0)
    batches = []
    for i, batch in enumerate(loader):
        batches.append(batch)
        if i + 1 >= n_batches:
            break
    return batches


def check_batch(batch, size, test_mode):
    assert set(batch) == {'inputs', 'data_samples'}
    assert len(batch['inputs']) == len(batch['data_samples']) > 0
    for img, ds in zip(batch['inputs'], batch['data_samples']):
        assert isinstance(img, torch.Tensor) and img.dtype == torch.uint8
        assert tuple(img.shape) == (3, *size)
        fields = TEST_FIELDS if test_mode else TRAIN_FIELDS
        for f in fields:
            assert f in ds.metainfo, f
        if test_mode:
            assert ds.image_id == ds.sample_idx
            assert len(ds.texts) == len(ds.text_ids) == len(ds.text_pids)
        else:
            assert isinstance(ds.text, str) and ds.text


def synthetic_for(name, split, test_mode, pipeline):
    if name in PERSON_CFGS:
        return dict(type='SyntheticPersonCaptionDataset', format='cuhkpedes',
                    split=split, test_mode=test_mode, pipeline=pipeline)
    return dict(type='SyntheticRSCaptionDataset', format='karpathy',
                split=split,
                test_mode=test_mode, pipeline=pipeline)


@pytest.mark.parametrize('name', RS_CFGS + PERSON_CFGS)
def test_pipelines_run_end_to_end(name):
    cfg = load(name)
    size = hw(cfg)
    synthetic = name.startswith('synthetic')
    # train
    dl = cfg.train_dataloader
    ds = dl.dataset if synthetic else synthetic_for(
        name, 'train', False, pipelines(cfg)[0])
    dl = dict(dl, batch_size=8)
    (batch, ) = run_loader(dl, ds)
    check_batch(batch, size, test_mode=False)
    # test
    dl = cfg.test_dataloader
    ds = dl.dataset if synthetic else synthetic_for(
        name, 'test', True, pipelines(cfg)[1])
    (batch, ) = run_loader(dict(dl, batch_size=5), ds)
    check_batch(batch, size, test_mode=True)
    assert [d.sample_idx for d in batch['data_samples']] == list(range(5))


def test_identity_sampler_with_a_dataset_config():
    cfg = load('synthetic_person')
    dl = dict(cfg.train_dataloader, batch_size=16,
              sampler=dict(type='IdentityBalancedSampler', batch_size=16,
                           num_instances=4))
    batches = run_loader(dl, dl['dataset'], n_batches=2)
    for b in batches:
        pids = [d.pid for d in b['data_samples']]
        assert len(set(pids)) == 4
        assert all(pids.count(p) == 4 for p in set(pids))
    assert DATA_SAMPLERS.get('IdentityBalancedSampler') is not None


def test_ret2_style_concat_on_synthetic():
    """The RET-2 recipe (train concat, exclude test splits, ahash dedupe,
    one val gallery) on synthetic data: the GaLR copy of the same images is
    entirely removed as duplicates."""
    cfg = load('ret2')
    train = cfg.train_dataloader.dataset
    assert train.type == 'RetrievalConcatDataset'
    assert train.dedupe == 'ahash' and len(train.exclude) == 4
    syn = dict(type='SyntheticRSCaptionDataset', split='train')
    ds = DATASETS.build(dict(
        train, datasets=[dict(syn, format='karpathy'),
                         dict(syn, format='galr')],
        exclude=[dict(syn, format='coco', split='test')],
        dedupe='md5'))
    assert ds.num_images == 480 and ds.member_sizes == [480, 0]
    assert len(ds.removed_duplicates) == 480
    (batch, ) = run_loader(dict(cfg.train_dataloader, batch_size=4), ds)
    check_batch(batch, hw(cfg), test_mode=False)
    # perceptual hashing finds no false duplicates among the synthetic
    # images of one split
    ah = DATASETS.build(dict(type='RetrievalConcatDataset',
                             datasets=[dict(syn, format='karpathy')],
                             dedupe='ahash'))
    assert ah.removed_duplicates == []
    val = cfg.val_dataloader.dataset
    assert val.dedupe is None and val.test_mode is True
