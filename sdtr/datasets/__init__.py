"""Datasets, transforms, samplers and synthetic data of sdtr."""
from .base_retrieval_dataset import BaseRetrievalDataset
from .coco_caption import COCOCaptionDataset
from .concat import RetrievalConcatDataset
from .cuhkpedes import CUHKPEDESDataset
from .errors import BadImageError, BadSampleError
from .galr import GaLRCaptionDataset
from .icfgpedes import ICFGPEDESDataset
from .karpathy import KarpathyCaptionDataset
from .person_json_dataset import PersonJsonDataset
from .pir import PIRCaptionDataset
from .rstpreid import RSTPReidDataset
from .samplers import IdentityBalancedSampler
from .synthetic import (SyntheticPersonCaptionDataset,
                        SyntheticRSCaptionDataset, SyntheticSceneFolderDataset,
                        make_synthetic_person, make_synthetic_rs,
                        make_synthetic_scene_folders)
from .transforms import LoadImage, PackRetrievalInputs, PreCaption

__all__ = [
    'BaseRetrievalDataset', 'KarpathyCaptionDataset', 'PIRCaptionDataset',
    'GaLRCaptionDataset', 'COCOCaptionDataset', 'PersonJsonDataset',
    'CUHKPEDESDataset', 'ICFGPEDESDataset', 'RSTPReidDataset',
    'RetrievalConcatDataset',
    'IdentityBalancedSampler', 'LoadImage', 'PackRetrievalInputs',
    'PreCaption', 'SyntheticRSCaptionDataset',
    'SyntheticPersonCaptionDataset', 'SyntheticSceneFolderDataset',
    'make_synthetic_rs', 'make_synthetic_person',
    'make_synthetic_scene_folders', 'BadSampleError',
    'BadImageError'
]
from .scene_folder_dataset import SceneFolderDataset  # noqa: E402
from .webdataset_captions import WebDatasetCaptionDataset  # noqa: E402

__all__ += ['SceneFolderDataset', 'WebDatasetCaptionDataset']

from .renamed import RENAMED_DATASETS, register_renamed, warn_renamed  # noqa

register_renamed(globals())


def __getattr__(name):  # ``from sdtr.datasets import CUHKPEDES`` still works
    if name in RENAMED_DATASETS:
        warn_renamed(name)
        return globals()[RENAMED_DATASETS[name]]
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
