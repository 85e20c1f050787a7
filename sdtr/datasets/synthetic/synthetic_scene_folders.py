"""Registered dataset type over the synthetic folder-of-classes scenes."""
from typing import Optional

from sdtr.registry import DATASETS
from .scene_folders import make_synthetic_scene_folders


@DATASETS.register_module()
class SyntheticSceneFolderDataset:
    """Synthetic scene-classification images, generated on first use.

    A factory like :class:`SyntheticRSCaptionDataset`: generates (once, cached)
    the folder-of-classes data of :func:`make_synthetic_scene_folders` and
    returns a :class:`~sdtr.datasets.SceneFolderDataset` on it, so a scene
    classifier (e.g. the PIR-ITR instruction-encoder prior,
    ``configs/pir_itr/scene_classifier_*``) trains anywhere with
    ``tools/train.py``.

    Args:
        split (str): ``'train'`` or ``'test'``.
        train_per_class, test_per_class, img_size, num_scenes, seed,
            out_dir: generator arguments.
        **kwargs: passed to :class:`SceneFolderDataset` (``pipeline``,
            ``test_mode``, ...).
    """

    def __new__(cls, split: str = 'train', train_per_class: int = 24,
                test_per_class: int = 8, img_size: int = 64,
                num_scenes: int = 10, seed: int = 0,
                out_dir: Optional[str] = None, **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f'split must be "train" or "test", got '
                             f'{split!r}')
        root = make_synthetic_scene_folders(
            out_dir=out_dir, train_per_class=train_per_class,
            test_per_class=test_per_class, img_size=img_size,
            num_scenes=num_scenes, seed=seed)
        kwargs.setdefault('test_mode', split != 'train')
        return DATASETS.build(dict(type='SceneFolderDataset',
                                   data_root=root, split=split, **kwargs))
