"""One rule for augmentation seeds (configs/_base_/default_runtime.py,
docs/training.md#reproducibility): a training sample is drawn from a seed
of (sampler seed, epoch, sample index) only, never of the rank or the
worker.  So a 2-rank (gloo) run of the quickstart config at the same global
batch ends with the weights of the 1-rank run, also with the config's
``diff_rank_seed=True`` (the tiny CLIP has no model-side randomness, the
only draws that rule lets differ per rank), where seeding by seed + rank
made the two runs train on different crops."""
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py')
GLOBAL_BATCH = 8


def _train(rank, world, port, out_dir, diff_rank_seed):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port),
                      RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank), OMP_NUM_THREADS='1')
    torch.set_num_threads(1)
    from mmengine.runner import Runner

    from sdtr.utils import load_config, register_all_modules
    from sdtr.utils.setup_env import (prepare_default_hooks,
                                      setup_distributed)
    register_all_modules(init_default_scope=False)
    # 4 images x 5 captions, 2 global batches of 8; no validation
    cfg = load_config(QUICKSTART, {
        'train_dataloader.batch_size': GLOBAL_BATCH // world,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.indices': 4,
        'train_cfg.max_epochs': 1,
        'randomness.diff_rank_seed': diff_rank_seed,
        'default_hooks.checkpoint': None,
        'val_dataloader': None, 'val_cfg': None, 'val_evaluator': None})
    cfg.work_dir = os.path.join(out_dir, f'w{world}')
    cfg.experiment_name = f'ranks{world}-{rank}-{diff_rank_seed}'
    prepare_default_hooks(cfg)
    setup_distributed(cfg, 'pytorch' if world > 1 else 'none')
    runner = Runner.from_cfg(cfg)
    runner.train()
    if rank == 0:
        model = getattr(runner.model, 'module', runner.model)
        torch.save(model.state_dict(), os.path.join(out_dir,
                                                    f'world{world}.pt'))


def _port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.parametrize('diff_rank_seed', [True, False])
def test_two_ranks_equal_one_rank(diff_rank_seed, tmp_path):
    for world in (1, 2):
        mp.spawn(_train, args=(world, _port(), str(tmp_path),
                               diff_rank_seed), nprocs=world, join=True)
    one = torch.load(tmp_path / 'world1.pt')
    two = torch.load(tmp_path / 'world2.pt')
    assert one.keys() == two.keys()
    for key, value in one.items():
        torch.testing.assert_close(two[key], value, rtol=0, atol=2e-5,
                                   msg=key)
    # the runs trained (2 AdamW steps moved the learned scale off its init)
    assert one['logit_scale'].item() != pytest.approx(
        torch.tensor(1 / 0.07).log().item(), abs=1e-6)
