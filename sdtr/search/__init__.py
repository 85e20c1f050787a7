"""Search: galleries, index folders, model fingerprints and the inferencer.

Sits above :mod:`sdtr.apis` (the model zoo it builds models from); the
command-line tools (:mod:`sdtr.tools`) and the web app (:mod:`sdtr.serve`)
are thin layers over it.  See ``docs/inference.md``.
"""
from .fingerprint import model_fingerprint
from .gallery import Gallery, load_gallery, save_gallery
from .index import SearchIndex, build_index
from .inferencer import RetrievalInferencer
from .topk import topk_search

__all__ = [
    'RetrievalInferencer', 'topk_search', 'Gallery', 'save_gallery',
    'load_gallery', 'SearchIndex', 'build_index', 'model_fingerprint'
]
