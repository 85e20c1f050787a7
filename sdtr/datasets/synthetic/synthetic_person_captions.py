"""Registered dataset type over the synthetic person-search data."""
import os.path as osp
from typing import Optional, Sequence

from sdtr.registry import DATASETS
from .person import PERSON_FORMATS, make_synthetic_person

_PERSON_LOADERS = {
    'cuhkpedes': ('CUHKPEDESDataset', 'CUHK-PEDES', 'reid_raw.json'),
    'icfgpedes': ('ICFGPEDESDataset', 'ICFG-PEDES', 'ICFG-PEDES.json'),
    'rstpreid': ('RSTPReidDataset', 'RSTPReid', 'data_captions.json'),
}


@DATASETS.register_module()
class SyntheticPersonCaptionDataset:
    """Synthetic pedestrian captions, generated on first use.

    A factory: ``SyntheticPersonCaptionDataset(format='cuhkpedes',
    split='train',
    ...)`` generates the data with :func:`make_synthetic_person` (cached,
    atomic) and returns the real loader (:class:`CUHKPEDESDataset`,
    :class:`ICFGPEDESDataset` or :class:`RSTPReidDataset`) pointed at the
    generated
    ``data_root`` (``imgs/`` + the json of that dataset).  As with the real
    ICFG-PEDES, ``format='icfgpedes'`` has no val split.

    Args:
        format (str): ``'cuhkpedes'``, ``'icfgpedes'`` or ``'rstpreid'``.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        num_train_ids, num_val_ids, num_test_ids, images_per_id, img_size,
            seed, out_dir: generator arguments (see
            :func:`make_synthetic_person`).
        **kwargs: passed to the loader (``pipeline``, ``test_mode``, ...).
    """

    def __new__(cls, format: str = 'cuhkpedes', split: str = 'train',
                num_train_ids: int = 64, num_val_ids: int = 16,
                num_test_ids: int = 32, images_per_id: int = 4,
                img_size: Sequence[int] = (96, 32), seed: int = 0,
                out_dir: Optional[str] = None, **kwargs):
        if format not in _PERSON_LOADERS:
            raise ValueError(f'unknown format {format!r}; choose from '
                             f'{PERSON_FORMATS}')
        root = make_synthetic_person(
            out_dir=out_dir, num_train_ids=num_train_ids,
            num_val_ids=num_val_ids, num_test_ids=num_test_ids,
            images_per_id=images_per_id, img_size=img_size, seed=seed)
        typ, folder, ann = _PERSON_LOADERS[format]
        cfg = dict(type=typ, data_root=osp.join(root, folder), ann_file=ann,
                   data_prefix=dict(img_path='imgs'), split=split)
        cfg.update(kwargs)
        return DATASETS.build(cfg)
