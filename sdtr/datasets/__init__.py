"""Datasets, transforms, samplers and synthetic data of sdtr."""
from .base_retrieval_dataset import BaseRetrievalDataset
from .coco_caption import COCOCaptionDataset
from .concat import RetrievalConcatDataset
from .cuhkpedes import CUHKPEDES
from .errors import BadImageError, BadSampleError
from .galr import GaLRCaptionDataset
from .icfgpedes import ICFGPEDES
from .karpathy import KarpathyCaptionDataset
from .person_json_dataset import PersonJsonDataset
from .pir import PIRCaptionDataset
from .rstpreid import RSTPReid
from .samplers import IdentityBalancedSampler
from .synthetic import (SyntheticPersonCaptions, SyntheticRSCaptions,
                        make_synthetic_person, make_synthetic_rs,
                        make_synthetic_scene_folders)
from .transforms import LoadImage, PackRetrievalInputs, PreCaption

__all__ = [
    'BaseRetrievalDataset', 'KarpathyCaptionDataset', 'PIRCaptionDataset',
    'GaLRCaptionDataset', 'COCOCaptionDataset', 'PersonJsonDataset',
    'CUHKPEDES', 'ICFGPEDES', 'RSTPReid', 'RetrievalConcatDataset',
    'IdentityBalancedSampler', 'LoadImage', 'PackRetrievalInputs',
    'PreCaption', 'SyntheticRSCaptions', 'SyntheticPersonCaptions',
    'make_synthetic_rs', 'make_synthetic_person',
    'make_synthetic_scene_folders', 'BadSampleError',
    'BadImageError'
]
from .scene_folder_dataset import SceneFolderDataset  # noqa: E402
from .webdataset_captions import WebDatasetCaptions  # noqa: E402

__all__ += ['SceneFolderDataset', 'WebDatasetCaptions']
