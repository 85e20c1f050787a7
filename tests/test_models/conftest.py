"""Helpers shared by the model tests."""
import socket

import pytest
import torch
import torch.multiprocessing as mp


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture(scope='session')
def run_gloo():
    """``run_gloo(worker, world, out_dir)`` spawns ``world`` processes
    calling ``worker(rank, port, out_dir)`` (each initialises gloo on
    ``tcp://127.0.0.1:<port>``) and returns what rank 0 saved to
    ``out_dir/result.pt``."""

    def run(worker, world, out_dir):
        mp.spawn(worker, args=(_free_port(), str(out_dir)), nprocs=world,
                 join=True)
        return torch.load(out_dir / 'result.pt', weights_only=False)

    return run
