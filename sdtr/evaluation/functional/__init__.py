"""Exact retrieval metrics: dense (from a similarity matrix) and chunked
(from features, bounded memory).  See the module docstrings for the
definitions and the tie rule."""
from .person_search import (person_search_metrics,
                            person_search_metrics_from_features)
from .rsitr import rsitr_recall, rsitr_recall_from_features

__all__ = [
    'rsitr_recall', 'rsitr_recall_from_features', 'person_search_metrics',
    'person_search_metrics_from_features'
]
