"""Exact retrieval evaluation.

* :mod:`sdtr.evaluation.functional`: ``rsitr_recall`` /
  ``person_search_metrics`` (dense similarity matrix) and their
  ``*_from_features`` versions (bounded-memory chunks, identical results).
  Tie rule: a relevant item wins a tie against an irrelevant one.  Empty
  positives (an image without caption, a query whose identity is not in the
  gallery) raise ``ValueError``.
* :mod:`sdtr.evaluation.metrics`: the registered ``RSITRRecall`` (keys
  ``rsitr/i2t_R@K``, ``rsitr/t2i_R@K``, ``rsitr/mR``) and
  ``PersonSearchMetric`` (keys ``person/R@K``, ``person/mAP``,
  ``person/mINP``, ``person/mR`` = mean of the R@K, plus
  ``person/i2t_*`` with ``i2t=True``).
"""
from .functional import *  # noqa: F401,F403
from .metrics import *  # noqa: F401,F403
