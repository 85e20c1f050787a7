"""Samples skipped inside DataLoader workers are reported in the samples
the dataset returns (its own interface); SkippedSamplesHook reads and logs
them in the training process and changes nothing it did not build."""
import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import sdtr.datasets  # noqa: F401
import sdtr.engine  # noqa: F401
from sdtr.datasets import KarpathyCaptionDataset
from sdtr.datasets.base_retrieval_dataset import (SKIPPED_META_KEY,
                                                  collect_worker_skips)
from sdtr.engine.hooks import SkippedSamplesHook
from sdtr.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
NAMES = [f'scene_{i}.png' for i in range(8)]
BAD = 'scene_3.png'


@MODELS.register_module(force=True)
class _MeanModel(BaseModel):
    """Smallest trainable model over packed retrieval batches."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack([i.float().mean() for i in inputs])
        loss = ((x * self.w - 1)**2).mean()
        return dict(loss=loss) if mode == 'loss' else [loss]


@pytest.fixture
def data_root(tmp_path):
    root = tmp_path / 'rs'
    (root / 'images').mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = []
    for n in NAMES:
        img = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        cv2.imwrite(str(root / 'images' / n), img)
        images.append(dict(filename=n, split='train',
                           sentences=[dict(raw=f'a photo of {n}')]))
    (root / 'images' / BAD).write_bytes(b'not a png')
    (root / 'k.json').write_text(json.dumps(dict(images=images)))
    return root


@pytest.fixture(autouse=True)
def _sdtr_scope():
    with DefaultScope.overwrite_default_scope('sdtr'):
        yield


def _dataset_cfg(root):
    return dict(type='KarpathyCaptionDataset', data_root=str(root),
                ann_file='k.json', data_prefix=dict(img_path='images'),
                split='train', skip_bad_samples=True,
                pipeline=[dict(type='LoadImage'),
                          dict(type='PackRetrievalInputs')])


def test_worker_skip_travels_with_the_returned_sample(data_root):
    ds = KarpathyCaptionDataset(**{k: v for k, v in _dataset_cfg(
        data_root).items() if k != 'type'})
    loader = torch.utils.data.DataLoader(
        ds, batch_size=4, num_workers=2, persistent_workers=True,
        generator=torch.Generator().manual_seed(0),
        collate_fn=lambda b: dict(data_samples=[s['data_samples']
                                                for s in b]))
    found = []
    for _ in range(2):  # two epochs with the same persistent workers
        for batch in loader:
            found += collect_worker_skips(batch)
    # the bad image is drawn at least once per epoch (more when a random
    # replacement lands on it again); each draw is reported by the sample
    # that replaced it, and nothing else is
    assert len(found) >= 2
    assert all(r['image'].endswith(BAD) and r['kind'] == 'bad_image'
               and r['file'].endswith('k.json') for r in found)
    # the main-process copy never saw them
    assert ds.skipped_samples == []
    # in the main process (num_workers=0) the dataset records it directly
    # and nothing is attached to the returned sample
    out = ds[3]
    assert SKIPPED_META_KEY not in out['data_samples'].metainfo
    assert len(ds.skipped_samples) >= 1
    assert ds.skipped_samples[0]['image'].endswith(BAD)


def test_runner_collects_worker_skips(data_root, tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs/_base_/default_runtime.py'))
    # on by default in every config
    assert cfg.default_hooks.skipped_samples.type == 'SkippedSamplesHook'
    runner = Runner(
        model=dict(type='_MeanModel'),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            dataset=_dataset_cfg(data_root), batch_size=4, num_workers=2,
            persistent_workers=True,
            sampler=dict(type='SeededSampler', shuffle=False)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(cfg.default_hooks, checkpoint=None),
        default_scope='sdtr',
        # the replacement of the corrupt sample is a random draw: seeded per
        # sample by the sampler (seed 1), each epoch's replacement is a
        # good image, every run
        randomness=dict(seed=1),
        env_cfg=cfg.env_cfg.to_dict() | dict(
            dist_cfg=dict(backend='gloo')),
        log_level='INFO')
    messages = []

    class _Collect(logging.Handler):

        def emit(self, record):
            messages.append(record.getMessage())

    handler = _Collect()
    MMLogger.get_current_instance().addHandler(handler)
    try:
        runner.train()
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    hooks = [h for h in runner.hooks if isinstance(h, SkippedSamplesHook)]
    assert len(hooks) == 1
    ds = runner.train_dataloader.dataset
    # one skip per epoch, read from the batches in the main process; the
    # dataset the config built is left as it is (its skipped_samples hold
    # the skips of its own process: none)
    assert len(hooks[0].skipped_samples) == 2 and ds.skipped_samples == []
    for rec in hooks[0].skipped_samples:
        assert rec['image'].endswith(BAD) and rec['file'].endswith('k.json')
        assert "images[3] ('scene_3.png')" in rec['entry']
    logged = [m for m in messages if 'skipped in DataLoader workers' in m]
    assert len(logged) == 2 and all(BAD in m for m in logged)
