from .person_search import PersonSearchMetric
from .retrieval_base import BaseRetrievalMetric
from .rsitr_recall import RSITRRecall

__all__ = ['BaseRetrievalMetric', 'RSITRRecall', 'PersonSearchMetric']
from .zero_shot_accuracy import ZeroShotAccuracy  # noqa: E402

__all__ += ['ZeroShotAccuracy']
