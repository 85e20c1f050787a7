"""P identities x K instances batch sampler for person search."""
from collections import defaultdict
from typing import Iterator, List, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from sdtr.registry import DATA_SAMPLERS
from sdtr.utils.rng import SeededIndex, seeded_indices
from .seeded_sampler import require_sample_seeds


@DATA_SAMPLERS.register_module()
class IdentityBalancedSampler(Sampler):
    """Yield batches of ``P = batch_size // num_instances`` distinct
    identities with ``K = num_instances`` samples each (IRRA's
    ``--sampler identity --num_instance 4``).

    Every epoch, each identity's samples are shuffled (drawn with
    replacement up to K when it has fewer) and cut into chunks of K (an
    incomplete last chunk is dropped); batches are filled greedily with
    chunks of P random distinct identities (drawn with probability
    proportional to their remaining chunks).  When too few identities remain
    to fill a batch a new round over all identities starts, until the
    epoch has ``num_chunks // P`` batches, rounded down to a multiple of the
    world size.  The global batch list depends only on ``seed + epoch``, so
    every rank builds the same one and takes batches ``rank, rank + W, ...``:
    shares are disjoint, equally sized, and deterministic.  Each index
    carries the seed of its sample's augmentation, derived from (seed,
    epoch, index) as :class:`SeededSampler` does.

    The dataloader's ``batch_size`` must equal ``batch_size`` here (the
    per-rank batch), otherwise the loader cuts the P x K groups apart;
    ``tools/train.py`` / ``tools/test.py`` refuse such a config
    (:func:`sdtr.utils.config_check.batch_size_mismatches`).  Use
    ``drop_last=False`` (the length is already a multiple of the batch).

    Args:
        dataset: a dataset with ``get_pids()`` (sdtr retrieval datasets) or
            whose ``get_data_info(i)['pid']`` gives the identity, and
            ``takes_sample_seeds = True``.
        batch_size (int): samples per batch on one rank.
        num_instances (int): K, samples per identity in a batch.
        shuffle (bool): kept for config compatibility; must be True.
        seed (int, optional): random seed, synchronised across ranks when
            None.
        rank, world_size (int, optional): override the distributed info
            (for tests / manual sharding).
    """

    def __init__(self,
                 dataset: Sized,
                 batch_size: int,
                 num_instances: int = 4,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 rank: Optional[int] = None,
                 world_size: Optional[int] = None):
        if not shuffle:
            raise ValueError('IdentityBalancedSampler always shuffles')
        if num_instances < 1 or batch_size % num_instances:
            raise ValueError(
                f'batch_size ({batch_size}) must be a multiple of '
                f'num_instances ({num_instances})')
        require_sample_seeds(dataset, type(self).__name__)
        d_rank, d_world = get_dist_info()
        self.rank = d_rank if rank is None else rank
        self.world_size = d_world if world_size is None else world_size
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_instances = num_instances
        self.num_pids_per_batch = batch_size // num_instances
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0

        if hasattr(dataset, 'get_pids'):
            pids = np.asarray(dataset.get_pids())
        else:
            pids = np.asarray(
                [dataset.get_data_info(i)['pid'] for i in range(len(dataset))])
        self.index_by_pid = defaultdict(list)
        for idx, pid in enumerate(pids.tolist()):
            self.index_by_pid[pid].append(idx)
        self.pids = sorted(self.index_by_pid)
        if len(self.pids) < self.num_pids_per_batch:
            raise ValueError(
                f'the dataset has {len(self.pids)} identities, fewer than '
                f'the {self.num_pids_per_batch} needed per batch')
        self.num_chunks = sum(
            max(len(v), num_instances) // num_instances
            for v in self.index_by_pid.values())
        nb = self.num_chunks // self.num_pids_per_batch
        nb = max(nb // self.world_size, 1) * self.world_size
        self.num_batches_total = nb
        self.num_batches = nb // self.world_size

    def _one_round(self, rng: np.random.Generator) -> List[List[int]]:
        k = self.num_instances
        chunks = {}
        for pid in self.pids:
            idxs = self.index_by_pid[pid]
            if len(idxs) < k:
                sel = rng.choice(idxs, size=k, replace=True).tolist()
            else:
                sel = [idxs[i] for i in rng.permutation(len(idxs))]
            chunks[pid] = [sel[i:i + k] for i in range(0, len(sel) - k + 1, k)]
        batches = []
        avail = [p for p in self.pids if chunks[p]]
        while len(avail) >= self.num_pids_per_batch:
            # identities with more chunks left are likelier to be drawn, so
            # fewer chunks are left over when a round ends
            weight = np.array([len(chunks[p]) for p in avail], np.float64)
            chosen = rng.choice(len(avail), size=self.num_pids_per_batch,
                                replace=False, p=weight / weight.sum())
            batch = []
            for c in sorted(chosen.tolist()):
                batch.extend(chunks[avail[c]].pop())
            batches.append(batch)
            avail = [p for p in avail if chunks[p]]
        return batches

    def global_batches(self) -> List[List[int]]:
        """All batches of the current epoch (identical on every rank)."""
        rng = np.random.default_rng([self.seed, self.epoch])
        batches: List[List[int]] = []
        while len(batches) < self.num_batches_total:
            batches.extend(self._one_round(rng))
        batches = batches[:self.num_batches_total]
        order = rng.permutation(len(batches))
        return [batches[i] for i in order]

    def __iter__(self) -> Iterator[SeededIndex]:
        batches = self.global_batches()[self.rank::self.world_size]
        return seeded_indices((i for batch in batches for i in batch),
                              self.seed, self.epoch)

    def __len__(self) -> int:
        return self.num_batches * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (called by mmengine's ``DistSamplerSeedHook``)."""
        self.epoch = epoch

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(P={self.num_pids_per_batch}, '
                f'K={self.num_instances}, batches/rank={self.num_batches}, '
                f'rank={self.rank}/{self.world_size})')
