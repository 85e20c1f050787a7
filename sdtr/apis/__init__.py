"""User API: the model zoo (``list_models``, ``get_model``,
``get_model_and_transforms``).  Search lives in :mod:`sdtr.search`."""
from sdtr.checkpoint import ChecksumError
from .model_zoo import (ImageTransform, ModelInfo, ModelZooError,
                        find_test_pipeline, get_model,
                        get_model_and_transforms, get_model_info,
                        list_models, load_model_index)

__all__ = [
    'list_models', 'get_model', 'get_model_and_transforms',
    'ImageTransform', 'get_model_info', 'load_model_index',
    'ModelInfo', 'ModelZooError', 'find_test_pipeline', 'ChecksumError'
]
