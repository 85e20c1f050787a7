"""Random-number state helpers for exact resume (``docs/training.md``).

* :func:`get_rng_state` / :func:`set_rng_state`: the states of Python's
  ``random``, numpy's legacy global generator, torch's CPU generator and
  every CUDA device generator (when CUDA is initialised), as plain Python
  values and tensors, so that a checkpoint holding them still loads with
  ``torch.load(weights_only=True)``;
* :func:`derive_seed`: a 64-bit seed hashed from a tuple of integers
  (well-mixed, independent streams for e.g. ``(seed, epoch, sample
  index)``);
* :func:`seed_host_rngs`: seed ``random``, numpy and torch's CPU generator
  (not CUDA: data pipelines run on the CPU);
* :class:`EpochSeededFetch`: installed as a dataset's ``__getitems__``
  (PyTorch's batched-fetch hook), it seeds the host generators before every
  sample with ``derive_seed(seed, epoch, index)``.  The augmentation of a
  sample is then a function of the run's seed, the epoch and the sample
  index only: the same with or without persistent workers, whichever worker
  loads it, however many workers or ranks there are, and after a resume.
"""
import hashlib
import random
import warnings
from multiprocessing.sharedctypes import RawValue
from typing import List, Optional, Sequence

import numpy as np
import torch

# second-level tags, so that streams of different purposes never coincide
SAMPLE_STREAM = 0x5A3D
WORKER_STREAM = 0x3E11
LOADER_STREAM = 0x7B02


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


class SharedEpoch:
    """An epoch number shared with forked or spawned DataLoader workers."""

    def __init__(self, epoch: int = 0) -> None:
        self._value = RawValue('q', int(epoch))

    @property
    def value(self) -> int:
        return int(self._value.value)

    @value.setter
    def value(self, epoch: int) -> None:
        self._value.value = int(epoch)


class EpochSeededFetch:
    """``dataset.__getitems__`` that seeds the host RNGs per sample.

    Args:
        dataset: a map-style dataset (``dataset[index]``).
        seed (int): the run's seed.
        epoch (SharedEpoch): the current epoch.
        isolate (bool): restore the caller's generator states after each
            batch (for loading in the training process itself, whose
            generators also drive dropout and masking).
    """

    def __init__(self, dataset, seed: int, epoch: SharedEpoch,
                 isolate: bool) -> None:
        self.dataset = dataset
        self.seed = int(seed)
        self.epoch = epoch
        self.isolate = isolate

    def __call__(self, indices: Sequence[int]) -> List:
        epoch = self.epoch.value
        saved = get_host_rng_state() if self.isolate else None
        try:
            out = []
            for index in indices:
                seed_host_rngs(
                    derive_seed(self.seed, SAMPLE_STREAM, epoch, int(index)))
                out.append(self.dataset[index])
            return out
        finally:
            if saved is not None:
                set_host_rng_state(saved)


def install_epoch_seeded_fetch(dataset, seed: int, epoch: SharedEpoch,
                               isolate: bool) -> bool:
    """Install :class:`EpochSeededFetch` on a map-style ``dataset``.

    Returns:
        bool: False (nothing installed) for iterable datasets and datasets
        that define their own ``__getitems__``.
    """
    if isinstance(dataset, torch.utils.data.IterableDataset) or \
            not hasattr(type(dataset), '__getitem__'):
        return False
    if getattr(type(dataset), '__getitems__', None) is not None:
        return False
    dataset.__getitems__ = EpochSeededFetch(dataset, seed, epoch, isolate)
    return True


def seeded_worker_init(worker_id: int,
                       seed: int,
                       epoch: SharedEpoch,
                       rank: int,
                       base_init_fn: Optional[callable] = None) -> None:
    """DataLoader ``worker_init_fn``: epoch-dependent worker seeds.

    Runs ``base_init_fn`` (mmengine's default seeding or the config's own)
    first, then seeds the worker's host generators with ``(seed, epoch,
    rank, worker_id)`` and installs :class:`EpochSeededFetch` on the
    worker's copy of a map-style dataset.
    """
    if base_init_fn is not None:
        base_init_fn(worker_id)
    seed_host_rngs(
        derive_seed(seed, WORKER_STREAM, epoch.value, rank, worker_id))
    info = torch.utils.data.get_worker_info()
    if info is not None:
        install_epoch_seeded_fetch(info.dataset, seed, epoch, isolate=False)
