"""Deterministic synthetic datasets (the default that runs anywhere)."""
from .person import PERSON_FORMATS, make_synthetic_person
from .rs import RS_FORMATS, make_synthetic_rs
from .scene_folders import make_synthetic_scene_folders
from .synthetic_person_captions import SyntheticPersonCaptionDataset
from .synthetic_rs_captions import SyntheticRSCaptionDataset

__all__ = [
    'make_synthetic_rs', 'make_synthetic_person',
    'make_synthetic_scene_folders', 'SyntheticRSCaptionDataset',
    'SyntheticPersonCaptionDataset', 'RS_FORMATS', 'PERSON_FORMATS'
]
from .synthetic_scene_folders import \
    SyntheticSceneFolderDataset  # noqa: E402

__all__ += ['SyntheticSceneFolderDataset']
