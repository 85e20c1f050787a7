from .person_search import PersonSearchMetric
from .retrieval_base import BaseRetrievalMetric
from .rsitr_recall import RSITRRecall

__all__ = ['BaseRetrievalMetric', 'RSITRRecall', 'PersonSearchMetric']
