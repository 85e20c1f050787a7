"""Registered dataset type over the synthetic remote-sensing data."""
from typing import Optional

from sdtr.registry import DATASETS
from .rs import RS_FORMATS, make_synthetic_rs

_RS_LOADERS = {
    'karpathy': lambda sp: dict(
        type='KarpathyCaptionDataset',
        ann_file='karpathy/dataset_synthetic_rs.json'),
    'galr': lambda sp: dict(type='GaLRCaptionDataset', ann_file='galr'),
    'coco': lambda sp: dict(type='COCOCaptionDataset',
                            ann_file=f'coco/captions_{sp}.json'),
    'pir': lambda sp: dict(type='PIRCaptionDataset',
                           ann_file=f'pir/synthetic_rs_{sp}.json'),
}


@DATASETS.register_module()
class SyntheticRSCaptionDataset:
    """Synthetic remote-sensing captions, generated on first use.

    A factory: ``SyntheticRSCaptionDataset(format='karpathy',
    split='train', ...)``
    generates the data with :func:`make_synthetic_rs` (cached, atomic) and
    returns the ordinary loader of that annotation format
    (:class:`KarpathyCaptionDataset`, :class:`GaLRCaptionDataset`,
    :class:`COCOCaptionDataset` or :class:`PIRCaptionDataset`) pointed at
    the generated files, so the synthetic data exercise the real parsers.

    Args:
        format (str): ``'karpathy'``, ``'galr'``, ``'coco'`` or ``'pir'``.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        num_train, num_val, num_test, img_size, seed, image_ext, num_scenes,
            out_dir: generator arguments (see :func:`make_synthetic_rs`).
        **kwargs: passed to the loader (``pipeline``, ``test_mode``,
            ``scene_rule``, ``indices``, ...).
    """

    def __new__(cls, format: str = 'karpathy', split: str = 'train',
                num_train: int = 480, num_val: int = 80, num_test: int = 120,
                img_size: int = 64, seed: int = 0, image_ext: str = 'png',
                num_scenes: int = 10, out_dir: Optional[str] = None,
                **kwargs):
        if format not in _RS_LOADERS:
            raise ValueError(f'unknown format {format!r}; choose from '
                             f'{RS_FORMATS}')
        root = make_synthetic_rs(
            out_dir=out_dir, num_train=num_train, num_val=num_val,
            num_test=num_test, img_size=img_size, seed=seed,
            image_ext=image_ext, num_scenes=num_scenes)
        cfg = _RS_LOADERS[format](split)
        cfg.update(data_root=root, data_prefix=dict(img_path='images'),
                   split=split)
        cfg.update(kwargs)
        return DATASETS.build(cfg)
