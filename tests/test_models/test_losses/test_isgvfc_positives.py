"""IS-GVFC needs same-identity rows: the VFE-TPS configs sample batches by
identity, every Fig. 7 calibration row shares that sampler, and on a
CUHK-PEDES-like identity layout the logged positive fraction is ~48 %
(random batches: ~0.1 %)."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from sdtr.registry import DATA_SAMPLERS, MODELS

REPO = Path(__file__).resolve().parents[3]
VFE = REPO / 'configs/vfe_tps'
# every VFE-TPS config of the person datasets that trains a calibration
# loss (Table 1-3, Table 6, Fig. 5-7 rows) or is compared with them
PERSON_CONFIGS = sorted(
    p.relative_to(VFE).as_posix()
    for p in VFE.glob('**/vfe-tps*_vit-b16_1xb100_*.py')
    if 'rsitmd' not in p.name and 'released' not in p.name)


class CUHKLikeDataset:
    """CUHK-PEDES-like identities: 6.19 train pairs per identity on average
    (34,054 images x 2 captions of 11,003 identities), 4-10 per identity.
    ``scale=1`` is the full size; the P x K statistics do not depend on it
    (a smaller copy keeps the sampler test fast)."""

    def __init__(self, num_ids=11003):
        rng = np.random.default_rng(0)
        counts = np.full(num_ids, 6)
        extra = rng.choice(num_ids, round(num_ids * 68108 / 11003) -
                           counts.sum(), replace=True)
        np.add.at(counts, extra, 1)
        counts[rng.choice(num_ids, num_ids // 5, replace=False)] -= 2
        counts[rng.choice(num_ids, num_ids // 5, replace=False)] += 2
        self.pids = np.repeat(np.arange(num_ids), counts)

    def __len__(self):
        return len(self.pids)

    def get_pids(self):
        return self.pids


def _pos_frac(loss, batches, pids):
    fracs = []
    torch.manual_seed(0)
    for batch in batches:
        feats = torch.randn(len(batch), 8)
        loss(feats, torch.as_tensor(pids[batch]),
             logit_scale=torch.tensor(50.))
        fracs.append(loss.log_vars['pos_frac'].item())
    return float(np.mean(fracs))


def test_person_configs_sample_by_identity():
    assert len(PERSON_CONFIGS) >= 10, PERSON_CONFIGS
    for name in PERSON_CONFIGS:
        cfg = Config.fromfile(str(VFE / name))
        loader = cfg.train_dataloader
        sampler = loader.sampler
        assert sampler.type == 'IdentityBalancedSampler', name
        assert sampler.batch_size == loader.batch_size == 100, name
        assert loader.batch_size % sampler.num_instances == 0, name
        assert sampler.num_instances == 4, name  # IRRA's num_instance


def test_fig7_rows_share_the_sampler():
    samplers = {}
    for name in ('vfe-tps_vit-b16_1xb100_cuhkpedes.py',
                 'ablations/vfe-tps-isgvfc_vit-b16_1xb100_cuhkpedes.py',
                 'ablations/vfe-tps-idloss_vit-b16_1xb100_cuhkpedes.py',
                 'ablations/vfe-tps-triplet_vit-b16_1xb100_cuhkpedes.py',
                 'ablations/vfe-tps-baseline_vit-b16_1xb100_cuhkpedes.py'):
        cfg = Config.fromfile(str(VFE / name))
        samplers[name] = cfg.train_dataloader.sampler.to_dict()
    assert len({repr(sorted(s.items())) for s in samplers.values()}) == 1


def test_isgvfc_sees_positives_with_the_config_sampler():
    cfg = Config.fromfile(str(VFE / 'vfe-tps_vit-b16_1xb100_cuhkpedes.py'))
    ds = CUHKLikeDataset(num_ids=1100)
    sampler = DATA_SAMPLERS.build(cfg.train_dataloader.sampler,
                                  default_args=dict(dataset=ds, seed=0))
    idx = list(sampler)
    bs = cfg.train_dataloader.batch_size
    batches = [idx[i:i + bs] for i in range(0, bs * 40, bs)]
    loss = MODELS.build(cfg.model.losses.isgvfc)
    assert loss.num_samples == 20
    with_sampler = _pos_frac(loss, batches, ds.pids)
    # P = 25 x K = 4, C = 20 of 100: 1 - C(96,19)/C(99,19) = 0.476
    assert with_sampler == pytest.approx(0.476, abs=0.07)
    # random batches of the full-size data (DefaultSampler): almost none
    ds = CUHKLikeDataset()
    assert len(ds) == 68108
    perm = np.random.default_rng(1).permutation(len(ds))
    random_batches = [perm[i:i + bs] for i in range(0, bs * 40, bs)]
    assert _pos_frac(loss, random_batches, ds.pids) < 0.01
