"""Deterministic synthetic datasets (the default that runs anywhere)."""
from .person import PERSON_FORMATS, make_synthetic_person
from .rs import RS_FORMATS, make_synthetic_rs
from .synthetic_person_captions import SyntheticPersonCaptions
from .synthetic_rs_captions import SyntheticRSCaptions

__all__ = [
    'make_synthetic_rs', 'make_synthetic_person', 'SyntheticRSCaptions',
    'SyntheticPersonCaptions', 'RS_FORMATS', 'PERSON_FORMATS'
]
