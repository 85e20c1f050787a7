"""Registered remote-sensing image-text retrieval metric."""
from typing import Dict

from torch import Tensor

from sdtr.registry import METRICS
from ..functional import rsitr_recall_from_features
from .retrieval_base import BaseRetrievalMetric


@METRICS.register_module()
class RSITRRecall(BaseRetrievalMetric):
    """R@K in both directions and mean recall (mR) for RSITR.

    i2t: an image is a hit at K if any of its captions is in its top K
    (PIR-ITR / LAVIS / RemoteCLIP min-rank rule); t2i: a caption is a hit if
    its image is in its top K; ``mR`` is the mean of the i2t and t2i recalls.
    Exact (see :func:`sdtr.evaluation.functional.rsitr_recall`): ties are
    won by the ground truth, an image without caption is an error.

    Logged keys (``default_prefix='rsitr'``, default ``topk``)::

        rsitr/i2t_R@1 rsitr/i2t_R@5 rsitr/i2t_R@10
        rsitr/t2i_R@1 rsitr/t2i_R@5 rsitr/t2i_R@10 rsitr/mR

    Select the best checkpoint on the *val* split with
    ``save_best='rsitr/mR'``.

    Each item passed to :meth:`process` is one gallery image with its
    captions carrying ``img_feat`` [D], ``text_feats`` [n, D],
    ``sample_idx`` and ``text_ids`` (a dict or a data sample).  See
    :class:`BaseRetrievalMetric` for the arguments (``topk``,
    ``chunk_size``, ``max_memory``, ``device``, ``prefix``).
    """
    default_prefix = 'rsitr'

    def compute_from_data(self, data: Dict[str, Tensor]) -> dict:
        dev = self._compute_device()
        return rsitr_recall_from_features(
            data['img'].to(dev),
            data['txt'].to(dev),
            data['txt2img'],
            topk=self.topk,
            chunk_size=self.chunk_size,
            max_memory=self.max_memory)
