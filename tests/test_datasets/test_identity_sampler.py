"""IdentityBalancedSampler: P x K batches, DDP shares, determinism."""
from collections import Counter

import numpy as np
import pytest

from sdtr.datasets import IdentityBalancedSampler
from sdtr.registry import DATA_SAMPLERS


class FakeDataset:
    takes_sample_seeds = True

    def __init__(self, counts):
        self.pids = np.repeat(np.arange(len(counts)), counts)

    def __len__(self):
        return len(self.pids)

    def get_pids(self):
        return self.pids


class InfoOnlyDataset:
    """A dataset without ``get_pids``: identities via get_data_info."""
    takes_sample_seeds = True

    def __init__(self, counts):
        self.pids = np.repeat(np.arange(len(counts)), counts)

    def __len__(self):
        return len(self.pids)

    def get_data_info(self, i):
        return dict(pid=int(self.pids[i]))


def batches_of(sampler):
    idx = list(sampler)
    bs = sampler.batch_size
    assert len(idx) == len(sampler) and len(idx) % bs == 0
    return [idx[i:i + bs] for i in range(0, len(idx), bs)]


def check_pk(batch, pids, p, k):
    c = Counter(pids[i] for i in batch)
    assert len(c) == p and set(c.values()) == {k}


@pytest.mark.parametrize('counts', [
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 2, 9, 30, 4],
    [4] * 16,
])
def test_two_ranks_disjoint_balanced_deterministic(counts):
    ds = FakeDataset(counts)
    kw = dict(batch_size=8, num_instances=4, seed=3, world_size=2)
    s0 = IdentityBalancedSampler(ds, rank=0, **kw)
    s1 = IdentityBalancedSampler(ds, rank=1, **kw)
    b0, b1 = batches_of(s0), batches_of(s1)
    assert len(b0) == len(b1) == s0.num_batches > 0
    for b in b0 + b1:
        check_pk(b, ds.pids, p=2, k=4)
    # the ranks take alternate batches of one global list
    g = s0.global_batches()
    assert b0 == g[0::2] and b1 == g[1::2]
    assert len(g) == s0.num_batches_total == 2 * s0.num_batches
    # deterministic for a seed + epoch, different for another epoch
    assert batches_of(IdentityBalancedSampler(ds, rank=0, **kw)) == b0
    s0.set_epoch(1)
    assert batches_of(s0) != b0
    if len(set(counts)) == 1:
        # every id has exactly K samples: the epoch is a partition
        i0, i1 = set(sum(b0, [])), set(sum(b1, []))
        assert not i0 & i1 and len(i0) == len(i1) == len(ds) // 2


def test_single_process_and_registry():
    ds = FakeDataset([5, 6, 7, 8, 4, 3, 9, 12])
    s = DATA_SAMPLERS.build(dict(type='IdentityBalancedSampler',
                                 batch_size=12, num_instances=4),
                            default_args=dict(dataset=ds, seed=0))
    assert s.world_size == 1 and s.rank == 0
    for b in batches_of(s):
        check_pk(b, ds.pids, p=3, k=4)
    # same result through get_data_info when get_pids is missing
    s2 = IdentityBalancedSampler(InfoOnlyDataset([5, 6, 7, 8, 4, 3, 9, 12]),
                                 batch_size=12, num_instances=4, seed=0)
    assert list(s2) == list(s)


def test_errors():
    ds = FakeDataset([4, 4])
    with pytest.raises(ValueError, match='multiple of num_instances'):
        IdentityBalancedSampler(ds, batch_size=6, num_instances=4, seed=0)
    with pytest.raises(ValueError, match='identities'):
        IdentityBalancedSampler(ds, batch_size=12, num_instances=4, seed=0)


def test_with_synthetic_person_dataset():
    from sdtr.registry import DATASETS
    ds = DATASETS.build(dict(type='SyntheticPersonCaptionDataset',
                             format='cuhkpedes', split='train'))
    s = IdentityBalancedSampler(ds, batch_size=16, num_instances=4, seed=0)
    pids = ds.get_pids()
    for b in batches_of(s):
        check_pk(b, pids, p=4, k=4)
        assert all(ds.get_data_info(i)['pid'] == pids[i] for i in b[:2])


def test_loader_batch_size_must_match_the_sampler(tmp_path):
    """A P x K sampler yields groups of its own batch_size; a loader that
    cuts the stream by another size mixes identities across batches, so
    the config is refused before anything is built."""
    from pathlib import Path

    from mmengine.config import Config
    from test_apis.helpers import load_tool

    from sdtr.utils.config_check import ConfigError, check_config
    repo = Path(__file__).resolve().parents[2]
    path = repo / 'configs/vfe_tps/vfe-tps_tiny_1xb32_synthetic-person.py'
    cfg = Config.fromfile(str(path))
    check_config(cfg)  # 32 = 8 identities x 4, loader batch 32
    # why it matters: a loader cutting the 8 x 4 stream by 24 (or 30)
    # gets 6 identities per batch (or an identity with 2 of its 4 samples)
    ds = FakeDataset([4] * 16)
    idx = list(IdentityBalancedSampler(ds, batch_size=32, num_instances=4,
                                       seed=0))
    check_pk(idx[:32], ds.pids, p=8, k=4)
    assert len({ds.pids[i] for i in idx[:24]}) == 6
    assert sorted(Counter(ds.pids[i] for i in idx[:30]).values()) == \
        [2] + [4] * 7
    cfg.merge_from_dict({'train_dataloader.batch_size': 24})
    with pytest.raises(ConfigError, match=r'train_dataloader\.sampler '
                       r'\(IdentityBalancedSampler\) composes batches of 32 '
                       r'but train_dataloader\.batch_size is 24'):
        check_config(cfg, str(path))
    # tools/train.py refuses the same override on the command line
    train = load_tool('tools/train.py')
    with pytest.raises(ConfigError, match='batch sizes disagree'):
        train.main([str(path), '--work-dir', str(tmp_path),
                    '--cfg-options', 'train_dataloader.batch_size=24'])
    assert not any(tmp_path.iterdir())  # refused before the runner
