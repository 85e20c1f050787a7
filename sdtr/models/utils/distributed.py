"""All-gather helpers for losses computed over the global (all-rank) batch.

Gradient semantics
------------------
Let rank ``r`` hold the local features ``x_r`` (``B`` rows) and let every rank
compute a loss ``L_r`` from the gathered features ``X = [x_0; ...; x_{W-1}]``.
:func:`gather_with_grad` uses
:func:`torch.distributed.nn.functional.all_gather`, whose backward *sums*
the incoming gradients of every rank for each slice (a reduce-scatter), so
rank ``r`` receives

.. math::  g_r = \\sum_k \\partial L_k / \\partial x_r .

DDP then averages the parameter gradients over the ``W`` ranks, which yields
the gradient of :math:`\\frac{1}{W} \\sum_k L_k`:

* when every rank computes the full global-batch loss (``L_k = L``) this is
  exactly :math:`\\partial L / \\partial \\theta`, the gradient one process
  would get on the whole batch;
* with a *local* loss (rank ``k`` scores only its own rows against all
  columns, averaged over its ``B`` rows) :math:`\\frac{1}{W}\\sum_k L_k` is the
  mean over all ``W B`` rows, again the single-process loss.

Both properties are checked on two gloo ranks in
``tests/test_models/test_utils/test_distributed.py``.

All ranks must pass tensors of the same shape (DDP samplers give every rank the
same number of samples per step).
"""
from typing import Tuple

import torch
import torch.distributed as dist


def is_distributed() -> bool:
    """True when a process group with more than one rank is active."""
    return (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1)


def get_rank_and_world_size() -> Tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` without a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from all ranks along dim 0, keeping gradients.

    The backward pass sums the gradients that every rank computes for the
    rows of this rank (see the module docstring).  Identity when not
    distributed.

    Args:
        tensor (Tensor): ``[B, ...]``, the same shape on every rank.

    Returns:
        Tensor: ``[W * B, ...]`` in rank order.
    """
    if not is_distributed():
        return tensor
    from torch.distributed.nn.functional import all_gather
    return torch.cat(all_gather(tensor.contiguous()), dim=0)


@torch.no_grad()
def gather_no_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` from all ranks along dim 0 without autograd.

    Used for labels (identities, image ids).  Identity when not distributed.
    """
    if not is_distributed():
        return tensor
    tensor = tensor.contiguous()
    out = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(out, tensor)
    return torch.cat(out, dim=0)
