"""Random-number helpers for reproducible training (``docs/training.md``).

* :func:`get_rng_state` / :func:`set_rng_state`: the states of Python's
  ``random``, numpy's legacy global generator, torch's CPU generator and
  every CUDA device generator (when CUDA is initialised), as plain Python
  values and tensors, so that a checkpoint holding them still loads with
  ``torch.load(weights_only=True)``; :func:`capture_rng` /
  :func:`restore_rng` keep the same states in memory;
* :func:`derive_seed`: a 64-bit seed hashed from a tuple of integers
  (well-mixed, independent streams for e.g. ``(seed, epoch, sample
  index)``);
* :func:`seed_host_rngs`: seed ``random``, numpy and torch's CPU generator
  (not CUDA: data pipelines run on the CPU);
* the augmentation rule: a sampler yields each index as a
  :class:`SeededIndex` carrying ``derive_seed(seed, SAMPLE_STREAM, epoch,
  index)`` (:func:`seeded_indices`), and the dataset draws that sample
  inside :func:`sample_rng` (:class:`SeededSamplesMixin`).  The
  augmentation of a sample is then a function of the sampler's seed (one
  for every rank), the epoch and the sample index only: never of the rank,
  the worker that loads it, the number of workers or ranks, persistent
  workers or a resume.
"""
import hashlib
import random
import warnings
from contextlib import contextmanager
from typing import Iterable, Iterator

import numpy as np
import torch

# second-level tag of the per-sample augmentation streams
SAMPLE_STREAM = 0x5A3D


def derive_seed(*entropy: int) -> int:
    """A 64-bit seed mixed from integers (BLAKE2b of their 64-bit words).

    A few microseconds per call, so that it can run once per sample.
    """
    data = b''.join(
        (int(v) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, 'little') for v in entropy)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(),
                          'little')


def seed_host_rngs(seed: int) -> None:
    """Seed ``random``, numpy's global generator and torch's CPU generator.

    numpy's legacy generator takes the low 32 bits, ``random`` and torch the
    whole 64-bit seed.
    """
    seed = int(seed) & 0xFFFFFFFFFFFFFFFF
    random.seed(seed)
    np.random.seed(seed & 0xFFFFFFFF)
    torch.default_generator.manual_seed(seed)


def get_host_rng_state() -> tuple:
    """Opaque in-memory states of the host generators (see
    :func:`set_host_rng_state`)."""
    return random.getstate(), np.random.get_state(), torch.get_rng_state()


def set_host_rng_state(state: tuple) -> None:
    py, npy, cpu = state
    random.setstate(py)
    np.random.set_state(npy)
    torch.set_rng_state(cpu)


def get_rng_state() -> dict:
    """All generator states, serialisable with ``weights_only=True``."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    version, internal, py_gauss = random.getstate()
    state = dict(
        python=[int(version), list(internal), py_gauss],
        numpy=dict(kind=str(kind),
                   key=torch.from_numpy(key.astype(np.int64)),
                   pos=int(pos), has_gauss=int(has_gauss),
                   gauss=float(gauss)),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`get_rng_state` returned."""
    version, internal, gauss = state['python']
    random.setstate((int(version), tuple(int(v) for v in internal), gauss))
    npy = state['numpy']
    np.random.set_state((npy['kind'], npy['key'].numpy().astype(np.uint32),
                         int(npy['pos']), int(npy['has_gauss']),
                         float(npy['gauss'])))
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) != torch.cuda.device_count():
            warnings.warn(
                f'the checkpoint holds {len(cuda)} CUDA generator states but '
                f'this process sees {torch.cuda.device_count()} devices; the '
                'CUDA generators are not restored')
            return
        torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def capture_rng() -> tuple:
    """In-memory states of the host generators and, when CUDA is
    initialised, of every CUDA device (see :func:`restore_rng`)."""
    cuda = torch.cuda.get_rng_state_all() if (
        torch.cuda.is_available() and torch.cuda.is_initialized()) else None
    return get_host_rng_state(), cuda


def restore_rng(state: tuple) -> None:
    host, cuda = state
    set_host_rng_state(host)
    if cuda is not None:
        torch.cuda.set_rng_state_all(cuda)


class SeededIndex(int):
    """A dataset index carrying the seed of its sample's augmentation
    (``seed``); a plain ``int`` everywhere else."""

    def __new__(cls, index: int, seed: int) -> 'SeededIndex':
        obj = super().__new__(cls, index)
        obj.seed = int(seed)
        return obj

    def __reduce__(self):  # to DataLoader workers
        return SeededIndex, (int(self), self.seed)


def seeded_indices(indices: Iterable[int], seed: int,
                   epoch: int) -> Iterator[SeededIndex]:
    """``indices`` as :class:`SeededIndex` with
    ``derive_seed(seed, SAMPLE_STREAM, epoch, index)``."""
    for index in indices:
        yield SeededIndex(
            index, derive_seed(seed, SAMPLE_STREAM, epoch, int(index)))


@contextmanager
def sample_rng(index):
    """Draw one sample's randomness from its own stream: for a
    :class:`SeededIndex`, seed the host generators with ``index.seed``
    and restore the caller's states afterwards (the generators of the
    training process or the worker are left as they were); a plain index
    changes nothing."""
    if not isinstance(index, SeededIndex):
        yield
        return
    saved = get_host_rng_state()
    seed_host_rngs(index.seed)
    try:
        yield
    finally:
        set_host_rng_state(saved)


class SeededSamplesMixin:
    """A map-style dataset that draws each sample inside
    :func:`sample_rng` (so from the seed a seeding sampler gives its index);
    put it before the dataset base class."""

    #: what ``SeededSampler`` / ``IdentityBalancedSampler`` check
    takes_sample_seeds = True

    def __getitem__(self, idx):
        with sample_rng(idx):
            return super().__getitem__(int(idx))
