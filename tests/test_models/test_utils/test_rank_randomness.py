"""On 2 gloo ranks seeded from ``configs/_base_/default_runtime.py``, the
model-side random draws (MIM masks, EKLSR key-local selection, IS-GVFC
sampling) differ between ranks, while the samplers still agree on one
shuffle.  With mmengine's default (``diff_rank_seed=False``) every rank
would draw the same masks, so a W-GPU run would see only 1/W of the mask
variety of a single-GPU run."""
import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

WORLD = 2
RUNTIME = Path(__file__).resolve().parents[3] / \
    'configs/_base_/default_runtime.py'


class _Pids:
    takes_sample_seeds = True

    def __init__(self):
        self.pids = torch.arange(40).repeat_interleave(4).numpy()

    def __len__(self):
        return len(self.pids)

    def get_pids(self):
        return self.pids


def _draws():
    from sdtr.registry import MODELS
    gen = MODELS.build(dict(type='PatchMaskGenerator', mask_ratio=0.6,
                            mask_patch_size=16))
    sel = MODELS.build(dict(type='KeyLocalSelector', ratio=0.3))
    rnd = MODELS.build(dict(type='KeyLocalSelector', ratio=0.3,
                            mode='random'))
    isg = MODELS.build(dict(type='ISGVFCLoss', num_samples=20))
    scores = torch.rand(1, 48, generator=torch.Generator().manual_seed(0))
    scores = scores.expand(4, 48).contiguous()
    return torch.cat([
        gen.generate(4, (96, 32), 8).flatten().long(),
        sel(scores).flatten().long(),
        rnd(scores).flatten().long(),
        isg.sample(100).long(),
    ])


def _gather(x):
    out = [torch.zeros_like(x) for _ in range(WORLD)]
    dist.all_gather(out, x)
    return torch.stack(out)


def _worker(rank, port, out_dir):
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=WORLD)
    try:
        from mmengine.config import Config
        from mmengine.runner.utils import set_random_seed

        from sdtr.registry import DATA_SAMPLERS
        randomness = Config.fromfile(str(RUNTIME)).randomness.to_dict()
        results = dict(randomness=randomness)
        # mmengine's default: the same seed on every rank
        set_random_seed(randomness['seed'], diff_rank_seed=False)
        results['same_seed'] = _gather(_draws())
        # what the Runner does with the sdtr config
        set_random_seed(**randomness)
        results['config_seed'] = _gather(_draws())
        # the Runner passes seed=None to samplers when diff_rank_seed is
        # set, so that they synchronise one seed across ranks
        sampler_seed = None if randomness.get('diff_rank_seed') else \
            randomness['seed']
        ids = DATA_SAMPLERS.build(
            dict(type='IdentityBalancedSampler', batch_size=8,
                 num_instances=4),
            default_args=dict(dataset=_Pids(), seed=sampler_seed))
        dflt = DATA_SAMPLERS.build(
            dict(type='DefaultSampler', shuffle=True),
            default_args=dict(dataset=list(range(50)), seed=sampler_seed))
        results['sampler_seeds'] = _gather(
            torch.tensor([ids.seed, dflt.seed]))
        results['identity_batches'] = _gather(
            torch.tensor(ids.global_batches()))
        results['default_shares'] = _gather(torch.tensor(list(dflt)))
        if rank == 0:
            torch.save(results, os.path.join(out_dir, 'result.pt'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ranks(tmp_path_factory, run_gloo):
    return run_gloo(_worker, WORLD, tmp_path_factory.mktemp('ranks'))


def test_runtime_seeds_ranks_differently(ranks):
    assert ranks['randomness'].get('diff_rank_seed') is True


def test_model_draws_differ_between_ranks(ranks):
    same = ranks['same_seed']
    assert torch.equal(same[0], same[1])  # the problem being fixed
    cfg = ranks['config_seed']
    n_mask = 4 * 12 * 4
    masks, rest = cfg[:, :n_mask], cfg[:, n_mask:]
    assert not torch.equal(masks[0], masks[1])
    n_sel = 4 * 48
    poly, rnd, isg = rest[:, :n_sel], rest[:, n_sel:2 * n_sel], \
        rest[:, 2 * n_sel:]
    assert not torch.equal(poly[0], poly[1])
    assert not torch.equal(rnd[0], rnd[1])
    assert not torch.equal(isg[0], isg[1])


def test_samplers_still_agree_across_ranks(ranks):
    seeds = ranks['sampler_seeds']
    assert torch.equal(seeds[0], seeds[1])
    batches = ranks['identity_batches']
    assert torch.equal(batches[0], batches[1])
    shares = ranks['default_shares']
    # disjoint shares of one shuffle
    assert not set(shares[0].tolist()) & set(shares[1].tolist())
    assert sorted(shares.flatten().tolist()) == list(range(50))
