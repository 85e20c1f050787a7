"""On 2 gloo ranks, DDP-averaged gradients equal single-process gradients.

Each rank holds half of a batch (with identities shared across ranks),
computes a loss that all-gathers internally, back-propagates and averages
the parameter gradients with ``all_reduce`` / world size, as DDP does.  The
result must equal the gradient of one process computing the loss on the
whole batch.
"""
import os

import pytest
import torch
import torch.distributed as dist

WORLD = 2
BATCH = 4  # per rank
CASES = {
    # the model's logit scale: a parameter outside the loss
    'infonce': dict(type='InfoNCELoss'),
    'infonce_local': dict(type='InfoNCELoss', local_loss=True),
    'sdm': dict(type='SDMLoss'),
    'sdm_local': dict(type='SDMLoss', local_loss=True),
    'cmpm': dict(type='CMPMLoss'),
    'cmpm_irra': dict(type='CMPMLoss', mode='irra'),
    'cmpm_local': dict(type='CMPMLoss', local_loss=True),
    'id': dict(type='IDLoss', in_channels=6, num_classes=5),
}


def _data():
    g = torch.Generator().manual_seed(0)
    x_img = torch.randn(WORLD * BATCH, 10, generator=g, dtype=torch.float64)
    x_txt = torch.randn(WORLD * BATCH, 10, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 0, 3, 1, 4, 2])  # positives across ranks
    return x_img, x_txt, labels


def _grads(name, rank=None):
    """Gradients of the shared parameters for one loss case."""
    from sdtr.models import losses  # noqa: F401 (registers the losses)
    from sdtr.registry import MODELS
    torch.manual_seed(1)
    # float64 so that the comparison is not limited by rounding
    proj = torch.nn.Linear(10, 6).double()
    loss_fn = MODELS.build(CASES[name]).double()
    params = list(proj.parameters()) + list(loss_fn.parameters())
    kwargs = {}
    if getattr(loss_fn, 'uses_logit_scale', False):
        scale = torch.nn.Parameter(torch.tensor(2.5, dtype=torch.float64))
        params.append(scale)
        kwargs['logit_scale'] = scale.exp()
    x_img, x_txt, labels = _data()
    if rank is not None:
        sl = slice(rank * BATCH, (rank + 1) * BATCH)
        x_img, x_txt, labels = x_img[sl], x_txt[sl], labels[sl]
    loss = loss_fn(proj(x_img), proj(x_txt), labels, **kwargs)
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
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=WORLD)
    try:
        from sdtr.models.utils import gather_no_grad, gather_with_grad
        # gather semantics: values in rank order; backward sums over ranks
        x = torch.full((2, 3), float(rank), requires_grad=True)
        y = gather_with_grad(x)
        (y * torch.arange(1., 5.)[:, None]).sum().backward()
        gathered = gather_no_grad(torch.tensor([rank, 10 + rank]))
        results = dict(gathered_values=y.detach(), x_grad=x.grad,
                       labels=gathered)
        for name in CASES:
            results[name] = _grads(name, rank)
        if rank == 0:
            torch.save(results, os.path.join(out_dir, 'result.pt'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def ddp_results(tmp_path_factory, run_gloo):
    return run_gloo(_worker, WORLD, tmp_path_factory.mktemp('ddp'))


def test_gather_semantics(ddp_results):
    assert torch.equal(ddp_results['gathered_values'],
                       torch.tensor([[0.] * 3] * 2 + [[1.] * 3] * 2))
    # d/dx0 of sum_k w_k y_k on *both* ranks, summed: rows 0,1 weights 1,2
    # counted twice (each rank computed the same global sum)
    assert torch.equal(ddp_results['x_grad'],
                       torch.tensor([[2.] * 3, [4.] * 3]))
    assert ddp_results['labels'].tolist() == [0, 10, 1, 11]


@pytest.mark.parametrize('name', list(CASES))
def test_ddp_gradient_equals_single_process(ddp_results, name):
    _, ddp_grads = ddp_results[name]
    _, ref_grads = _grads(name)
    assert len(ddp_grads) == len(ref_grads)
    for g_ddp, g_ref in zip(ddp_grads, ref_grads):
        assert torch.allclose(g_ddp, g_ref, atol=1e-9, rtol=1e-7), name
