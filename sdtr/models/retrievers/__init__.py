from .base import BaseRetriever
from .clip_retriever import CLIPRetriever

__all__ = ['BaseRetriever', 'CLIPRetriever']
