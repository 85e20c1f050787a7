"""Registered text-based person search metric."""
from typing import Dict, Optional, Sequence, Tuple, Union

from torch import Tensor

from sdtr.registry import METRICS
from ..functional import person_search_metrics_from_features
from .retrieval_base import BaseRetrievalMetric


@METRICS.register_module()
class PersonSearchMetric(BaseRetrievalMetric):
    """R@K, mAP, mINP and mR for text-based person search (IRRA protocol).

    Queries are the captions, the gallery the images, and relevance is
    identity equality (``text_pids`` vs the images' ``pid``).  Exact (see
    :func:`sdtr.evaluation.functional.person_search_metrics`): ties are won
    by the relevant item; a query whose identity has no gallery image is an
    error.

    Logged keys (``default_prefix='person'``, default ``topk``)::

        person/R@1 person/R@5 person/R@10 person/mAP person/mINP person/mR

    where ``mR`` is the mean of the R@K (the ``topk`` recalls, R@1/5/10 by
    default), the number EKLSR's person-search tables report next to R@K
    (EKLSR Tables 2-4, §4.2.1: "mR represents the average of all R@K").
    With ``i2t=True`` also the image-to-text numbers (image queries,
    caption gallery)::

        person/i2t_R@1 ... person/i2t_mAP person/i2t_mINP person/i2t_mR

    The t2i keys carry no direction so that ``save_best='person/R@1'``
    reads like IRRA's headline number; ``save_best='person/mR'`` selects on
    the mean recall.  Select the best checkpoint on the *val* split.

    Args:
        i2t (bool): also compute image-to-text metrics. Defaults to False.
        **kwargs: see :class:`BaseRetrievalMetric` (``topk``, ``chunk_size``,
            ``max_memory``, ``device``, ``prefix``).
    """
    default_prefix = 'person'
    requires_pids = True

    def __init__(self,
                 topk: Union[int, Sequence[int]] = (1, 5, 10),
                 i2t: bool = False,
                 chunk_size: Optional[Union[int, Tuple[int, int]]] = None,
                 max_memory: Optional[int] = None,
                 device: str = 'auto',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(
            topk=topk,
            chunk_size=chunk_size,
            max_memory=max_memory,
            device=device,
            collect_device=collect_device,
            prefix=prefix)
        self.i2t = bool(i2t)

    def compute_from_data(self, data: Dict[str, Tensor]) -> dict:
        dev = self._compute_device()
        img, txt = data['img'].to(dev), data['txt'].to(dev)
        kw = dict(
            topk=self.topk,
            chunk_size=self.chunk_size,
            max_memory=self.max_memory)
        out = person_search_metrics_from_features(txt, img, data['txt_pids'],
                                                  data['img_pids'], **kw)
        if self.i2t:
            i2t = person_search_metrics_from_features(
                img, txt, data['img_pids'], data['txt_pids'], **kw)
            out.update({f'i2t_{k}': v for k, v in i2t.items()})
        return out
