from .person_search import PersonSearchMetric
from .retrieval_base import BaseRetrievalMetric
from .retrieval_rankings import RetrievalRankingDump
from .rsitr_recall import RSITRRecall

__all__ = ['BaseRetrievalMetric', 'RSITRRecall', 'PersonSearchMetric',
           'RetrievalRankingDump']
from .zero_shot_accuracy import ZeroShotAccuracy  # noqa: E402

__all__ += ['ZeroShotAccuracy']
