from .base import BaseRetriever
from .clip_retriever import CLIPRetriever

__all__ = ['BaseRetriever', 'CLIPRetriever']
from .vfe_tps_retriever import VFETPSRetriever  # noqa: E402

__all__ += ['VFETPSRetriever']
from .eklsr_retriever import EKLSRRetriever  # noqa: E402

__all__ += ['EKLSRRetriever']
from .pir_clip_retriever import PIRCLIPRetriever  # noqa: E402

__all__ += ['PIRCLIPRetriever']
from .pir_itr_retriever import PIRITRRetriever  # noqa: E402

__all__ += ['PIRITRRetriever']
