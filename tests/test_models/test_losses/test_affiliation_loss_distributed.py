"""Affiliation loss on 2 gloo ranks: class centres over the global batch,
DDP-averaged gradients equal the single-process gradient on the whole
batch, for both t2i modes; ``local_centers=True`` (released) differs."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD, BATCH = 2, 4
MODES = ('paper', 'released_pir_itr')


def _data():
    g = torch.Generator().manual_seed(0)
    x_img = torch.randn(WORLD * BATCH, 10, generator=g, dtype=torch.float64)
    x_txt = torch.randn(WORLD * BATCH, 10, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 2, 1, 1, 3])  # classes span ranks
    return x_img, x_txt, labels


def _run(mode, rank=None, local_centers=False):
    from sdtr.models.losses import AffiliationLoss
    torch.manual_seed(1)
    proj = torch.nn.Linear(10, 6).double()
    loss_fn = AffiliationLoss(t2i_mode=mode,
                              local_centers=local_centers).double()
    # the model's learnable scale, initialised at 1/0.07
    log_scale = torch.nn.Parameter(
        torch.tensor(1 / 0.07, dtype=torch.float64).log())
    params = list(proj.parameters()) + [log_scale]
    x_img, x_txt, labels = _data()
    if rank is not None:
        sl = slice(rank * BATCH, (rank + 1) * BATCH)
        x_img, x_txt, labels = x_img[sl], x_txt[sl], labels[sl]
    loss = loss_fn(proj(x_img), proj(x_txt), labels,
                   logit_scale=log_scale.exp())
    loss.backward()
    grads = []
    for p in params:
        g = p.grad.clone()
        if rank is not None:
            dist.all_reduce(g)
            g /= WORLD
        grads.append(g)
    return loss.detach(), grads


def _worker(rank, port, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=WORLD)
    try:
        res = {m: _run(m, rank) for m in MODES}
        res['local'] = _run('paper', rank, local_centers=True)
        torch.save(res, os.path.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def test_affiliation_global_centres_under_ddp(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    mp.spawn(_worker, args=(port, str(tmp_path)), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt') for r in range(WORLD)]
    for mode in MODES:
        loss, grads = _run(mode)
        for res in ranks:
            torch.testing.assert_close(res[mode][0], loss)
            for g_dist, g_single in zip(res[mode][1], grads):
                torch.testing.assert_close(g_dist, g_single)
    # per-rank centres (released) are a different loss
    assert not torch.allclose(ranks[0]['local'][0], _run('paper')[0])
