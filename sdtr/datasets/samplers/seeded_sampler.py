"""mmengine's ``DefaultSampler`` whose indices carry their augmentation
seed (docs/training.md#reproducibility)."""
from typing import Iterator, Optional, Sized

from mmengine.dataset import DefaultSampler

from sdtr.registry import DATA_SAMPLERS
from sdtr.utils.rng import SeededIndex, seeded_indices


def require_sample_seeds(dataset, sampler: str) -> None:
    """A sampler that yields :class:`~sdtr.utils.rng.SeededIndex` needs a
    dataset that draws each sample inside ``sample_rng(index)``; one that
    does not declares nothing and would ignore the seeds, so it is
    refused."""
    if not getattr(dataset, 'takes_sample_seeds', False):
        raise TypeError(
            f'{sampler}: dataset {type(dataset).__name__} does not draw its '
            'samples from the seeds the sampler gives them (it declares no '
            '`takes_sample_seeds = True`); use a sdtr retrieval dataset, '
            'derive it from sdtr.utils.rng.SeededSamplesMixin, or use '
            "sampler=dict(type='DefaultSampler') (augmentation then depends "
            'on the worker and the rank)')


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """Shuffle (or not) and shard exactly as mmengine's ``DefaultSampler``,
    and give every index the seed of its sample's augmentation:
    ``derive_seed(seed, SAMPLE_STREAM, epoch, index)``
    (:func:`sdtr.utils.rng.seeded_indices`).

    ``seed`` is the sampler's (mmengine passes ``randomness.seed``, or a
    seed synchronised across ranks with ``diff_rank_seed=True``) and the
    epoch comes from ``set_epoch`` (``DistSamplerSeedHook``, mmengine's
    iteration-based loop).  The seed travels with the index into the
    DataLoader worker, so the augmentation of a sample depends on (seed,
    epoch, sample index) only: not on the rank, the worker, the number of
    workers or ranks, persistent workers, or a resume.

    Args:
        dataset: a dataset with ``takes_sample_seeds = True`` (every sdtr
            retrieval dataset).
        shuffle, seed, round_up: as ``DefaultSampler``.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True) -> None:
        require_sample_seeds(dataset, type(self).__name__)
        super().__init__(dataset, shuffle=shuffle, seed=seed,
                         round_up=round_up)

    def __iter__(self) -> Iterator[SeededIndex]:
        return seeded_indices(super().__iter__(), self.seed, self.epoch)
