"""User API: model zoo, inference and gallery search."""
from .fingerprint import model_fingerprint
from .gallery import Gallery, load_gallery, save_gallery
from sdtr.checkpoint import ChecksumError
from .index import SearchIndex, build_index
from .inferencer import RetrievalInferencer
from .model_zoo import (ImageTransform, ModelInfo, ModelZooError, get_model,
                        get_model_and_transforms, get_model_info, list_models,
                        load_model_index)
from .search import topk_search

__all__ = [
    'list_models', 'get_model', 'get_model_and_transforms',
    'ImageTransform', 'get_model_info', 'load_model_index',
    'ModelInfo', 'ModelZooError', 'RetrievalInferencer', 'topk_search',
    'Gallery', 'save_gallery', 'load_gallery', 'ChecksumError', 'SearchIndex',
    'build_index', 'model_fingerprint'
]
