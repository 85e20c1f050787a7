"""IS-GVFC needs same-identity rows: on a CUHK-PEDES-like identity layout
the logged positive fraction is ~48 % with the identity-balanced batches of
the sampler ablation and ~0.1 % with the paper config's random batches."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from sdtr.registry import DATA_SAMPLERS, MODELS

REPO = Path(__file__).resolve().parents[3]
VFE = REPO / 'configs/vfe_tps'


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

    # the samplers' seeds are not used here (no samples are drawn)
    takes_sample_seeds = True

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


def _config_batches(name, ds, num_batches=40):
    cfg = Config.fromfile(str(VFE / name))
    sampler = DATA_SAMPLERS.build(cfg.train_dataloader.sampler,
                                  default_args=dict(dataset=ds, seed=0))
    idx = [int(i) for i in sampler]
    bs = cfg.train_dataloader.batch_size
    return cfg, [idx[i:i + bs] for i in range(0, bs * num_batches, bs)]


def test_isgvfc_positives_with_each_config_sampler():
    """Which configs use which sampler is tests/test_tools/
    test_vfe_tps_configs.py; here what IS-GVFC sees with each."""
    ds = CUHKLikeDataset(num_ids=1100)
    cfg, batches = _config_batches(
        'ablations/vfe-tps-idsampler_vit-b16_1xb100_cuhkpedes.py', ds)
    assert cfg.train_dataloader.sampler.type == 'IdentityBalancedSampler'
    loss = MODELS.build(cfg.model.losses.isgvfc)
    assert loss.num_samples == 20
    # P = 25 x K = 4, C = 20 of 100: 1 - C(96,19)/C(99,19) = 0.476
    assert _pos_frac(loss, batches, ds.pids) == pytest.approx(0.476,
                                                              abs=0.07)
    # the paper config's random batches of the full-size data: almost none
    ds = CUHKLikeDataset()
    assert len(ds) == 68108
    cfg, batches = _config_batches('vfe-tps_vit-b16_1xb100_cuhkpedes.py', ds)
    assert cfg.train_dataloader.sampler.type == 'SeededSampler'
    assert _pos_frac(loss, batches, ds.pids) < 0.01
