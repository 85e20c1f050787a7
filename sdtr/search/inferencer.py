"""Encode images and captions with any sdtr retriever and search a gallery.

>>> from sdtr.search import RetrievalInferencer
>>> inf = RetrievalInferencer('configs/quickstart/clip_tiny_1xb32_'
...                           'synthetic-rs.py', checkpoint='tiny.pth')
>>> inf.build_gallery('path/to/images', cache='gallery.safetensors')
>>> inf.search('many planes are parked near a terminal', topk=5)

Images go through the test-time pipeline of the model's config (the
``test_pipeline`` variable, else ``test_dataloader.dataset.pipeline``, else
the val one) and the model's data preprocessor, exactly as in
``tools/test.py``; captions through the model's tokenizer.  Features are the
L2-normalised retrieval embeddings of :meth:`BaseRetriever.predict`
(:math:`\\hat v = g_v/\\|g_v\\|_2`, :math:`\\hat t = g_t/\\|g_t\\|_2`), and
search ranks by their inner product (cosine) with
:func:`sdtr.search.topk.topk_search` (bounded memory) or, for an index
folder (:mod:`sdtr.search.index`, built by ``tools/build_gallery.py``), with
FAISS.

Every gallery records the content fingerprint of the model that computed it
(:func:`sdtr.search.fingerprint.model_fingerprint`: SHA-256 of the checkpoint
file and of the model config + test pipeline).  A cache built by another
model is rebuilt, a gallery file or index built by another model is refused,
each with a message naming both fingerprints.
"""
import os
import os.path as osp
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from sdtr.apis.model_zoo import ImageTransform, get_model
from sdtr.registry import INFERENCERS
from sdtr.utils.errors import SdtrError
from .fingerprint import fingerprint_mismatch, model_fingerprint
from .gallery import Gallery, is_gallery_file, load_gallery, save_gallery
from .index import SearchIndex, is_index_dir

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp',
                    '.webp')
ImageLike = Union[str, os.PathLike, np.ndarray]


def list_images(folder: str) -> List[str]:
    """Image files under ``folder`` (recursive, sorted)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder!r} does not exist')
    found = []
    for root, _, files in os.walk(folder):
        found += [osp.join(root, f) for f in files
                  if f.lower().endswith(IMAGE_EXTENSIONS)]
    if not found:
        raise FileNotFoundError(
            f'no image files ({", ".join(IMAGE_EXTENSIONS)}) under '
            f'{folder!r}')
    return sorted(found)


@INFERENCERS.register_module()
class RetrievalInferencer:
    """Feature extraction and top-k search with an sdtr retriever.

    Args:
        model (str | Config | BaseRetriever): a zoo name, a config file, a
            :class:`~mmengine.config.Config` or a model returned by
            :func:`sdtr.apis.get_model` (it carries its config).
        checkpoint (str, optional): sdtr checkpoint (path or URL); for a zoo
            name ``True`` takes the published one.
        device (str): ``'cpu'``, ``'cuda'``, ...
        batch_size (int): images / captions per forward pass.
        offline_dir (str, optional): see :func:`sdtr.apis.get_model`.
    """

    def __init__(self,
                 model,
                 checkpoint: Union[str, bool, None] = None,
                 device: str = 'cpu',
                 batch_size: int = 32,
                 offline_dir: Optional[str] = None):
        if isinstance(model, torch.nn.Module):
            if getattr(model, '_config', None) is None:
                raise ValueError('a model instance needs its config: build '
                                 'it with sdtr.apis.get_model')
            if checkpoint not in (None, False):
                raise ValueError('pass checkpoint= only with a name/config')
            self.model = model.to(device).eval()
        else:
            self.model = get_model(
                model, pretrained=checkpoint if checkpoint else False,
                device=device, offline_dir=offline_dir)
        missing = [m for m in ('encode_image', 'encode_text',
                               'image_embedding', 'text_embedding')
                   if not callable(getattr(self.model, m, None))]
        if missing:
            raise TypeError(
                f'{type(self.model).__name__} is not an image-text retriever '
                f'(it lacks {missing}; see sdtr.models.retrievers.'
                'BaseRetriever), so it cannot encode images and captions')
        self.cfg = self.model._config
        self.device = device
        if int(batch_size) < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        self.batch_size = int(batch_size)
        self.transform = ImageTransform(self.cfg)
        self.image_gallery: Optional[Gallery] = None
        self.text_gallery: Optional[Gallery] = None
        self._fingerprint = None

    # ------------------------------------------------------------ helpers
    @property
    def fingerprint(self) -> dict:
        """Content fingerprint of the model (computed once; see
        :func:`sdtr.search.fingerprint.model_fingerprint`)."""
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.model,
                                                  self.transform.pipeline_cfg)
        return self._fingerprint

    def _info(self) -> dict:
        return dict(config=getattr(self.cfg, 'filename', None),
                    checkpoint=getattr(self.model, 'checkpoint', None),
                    model=type(self.model).__name__,
                    fingerprint=self.fingerprint)

    # ----------------------------------------------------------- encoders
    @torch.no_grad()
    def encode_image(self, images: Union[ImageLike, Sequence[ImageLike]]
                     ) -> torch.Tensor:
        """L2-normalised image embeddings ``[N, D]`` (float32, CPU).

        Args:
            images: a path, an HxWx3 uint8 RGB array, or a list of them.
        """
        if isinstance(images, (str, os.PathLike, np.ndarray)):
            images = [images]
        images = list(images)
        if not images:
            raise ValueError('no images to encode')
        feats = []
        for start in range(0, len(images), self.batch_size):
            batch = [self.transform.pack(img, start + i) for i, img in
                     enumerate(images[start:start + self.batch_size])]
            feats.append(self.embed_prepared(batch))
        return torch.cat(feats)

    @torch.no_grad()
    def embed_prepared(self, batch: Sequence[dict]) -> torch.Tensor:
        """Embeddings of images already through the test pipeline (the
        dicts with ``inputs`` / ``data_samples`` that :meth:`prepare`
        returns, e.g. from DataLoader workers)."""
        data = dict(inputs=[b['inputs'] for b in batch],
                    data_samples=[b['data_samples'] for b in batch])
        data = self.model.data_preprocessor(data, False)
        emb = self.model.image_embedding(
            self.model.encode_image(data['inputs']))
        return F.normalize(emb.float(), dim=-1).cpu()

    def prepare(self, image: ImageLike, idx: int = 0) -> dict:
        """Run one image (path or HxWx3 uint8 RGB array) through the test
        pipeline (picklable: usable in DataLoader workers)."""
        return self.transform.pack(image, idx)

    @torch.no_grad()
    def encode_text(self, texts: Union[str, Sequence[str]]) -> torch.Tensor:
        """L2-normalised caption embeddings ``[N, D]`` (float32, CPU)."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise ValueError('encode_text needs a non-empty list of strings')
        feats = []
        for start in range(0, len(texts), self.batch_size):
            emb = self.model.text_embedding(
                self.model.encode_text(texts[start:start + self.batch_size]))
            feats.append(F.normalize(emb.float(), dim=-1).cpu())
        return torch.cat(feats)

    # ----------------------------------------------------------- galleries
    def _cached(self, cache, items, kind, index_type=None):
        """The gallery stored at ``cache`` if it holds ``items`` of ``kind``
        encoded by this model (and, for an index, is intact), else None
        with a warning saying why it is rebuilt."""
        if cache is None or not (osp.isfile(cache) or is_index_dir(cache)):
            return None
        from mmengine.logging import print_log
        try:
            gallery = SearchIndex.open(cache) if is_index_dir(cache) else \
                load_gallery(cache)
            why = self._cache_mismatch(gallery, items, kind, index_type)
        except SdtrError as err:
            why = str(err)
        if why:
            print_log(f'gallery cache {cache}: {why}; rebuilding it',
                      logger='current', level=30)
            return None
        return gallery

    def _cache_mismatch(self, gallery, items, kind, index_type):
        if gallery.kind != kind or list(gallery.items) != list(items):
            return 'built from other items'
        if index_type is not None and getattr(
                gallery, 'index_type', 'flat') != index_type:
            return f'a {gallery.index_type} index, {index_type} was asked for'
        msg = fingerprint_mismatch(gallery.fingerprint, self.fingerprint)
        return f'was {msg}' if msg else None

    def _store(self, feats, names, kind, cache, dtype, index_type):
        gallery = Gallery(feats.to(dtype), names, kind=kind,
                          info=self._info())
        if cache is None:
            return gallery
        if str(cache).endswith('.safetensors'):
            if index_type not in (None, 'flat'):
                raise ValueError(f'a .safetensors cache is exact; '
                                 f'index_type={index_type!r} needs an index '
                                 'folder as cache')
            save_gallery(gallery, cache)
            return gallery
        from .index import build_index
        info = {k: v for k, v in self._info().items() if k != 'fingerprint'}
        return build_index(
            cache, [(gallery.features.float(), names)], gallery.dim,
            kind=kind, index_type=index_type or 'flat', num=len(names),
            train_sample=gallery.features.float(),
            fingerprint=self.fingerprint, info=info,
            dtype='float16' if dtype == torch.float16 else 'float32',
            overwrite=True)

    def open_gallery(self, path: str, kind: str,
                     check_fingerprint: bool = True):
        """Load a ``.safetensors`` gallery or open an index folder, refusing
        one of the other ``kind`` or built by another model (unless
        ``check_fingerprint=False``)."""
        expect = self.fingerprint if check_fingerprint else None
        if is_index_dir(path):
            gallery = SearchIndex.open(path, kind=kind,
                                       expect_fingerprint=expect)
        else:
            gallery = load_gallery(path)
            if gallery.kind != kind:
                raise SdtrError(
                    f'{str(path)!r} is a {gallery.kind} gallery; use ' +
                    ('build_gallery' if gallery.kind == 'image' else
                     'build_text_gallery'))
            msg = fingerprint_mismatch(gallery.fingerprint, expect) \
                if expect is not None else None
            if msg:
                raise SdtrError(
                    f'gallery {str(path)!r} was {msg}. Rebuild it from the '
                    'images/captions with this model, or pass '
                    'check_fingerprint=False (--no-fingerprint-check) if '
                    'you know the features are right.')
        return gallery

    def build_gallery(self,
                      images_or_dir: Union[str, Sequence[ImageLike]],
                      cache: Optional[str] = None,
                      dtype: torch.dtype = torch.float32,
                      index_type: Optional[str] = None,
                      check_fingerprint: bool = True):
        """Encode a gallery of images (and store it as the search gallery).

        Args:
            images_or_dir: an image folder (searched recursively), a list of
                paths/arrays, a ``.safetensors`` gallery file or an index
                folder (opened; refused when built by another model).
            cache (str, optional): a ``.safetensors`` file or an index folder
                (any other path); reused when it holds the same items and
                was built by the same model (checkpoint content and config),
                else rebuilt with a warning naming the difference.
            dtype: storage dtype of the features (``torch.float16`` halves
                memory; scores are then computed in fp16).
            index_type (str, optional): for an index folder cache:
                ``'flat'`` (default), ``'ivfpq'`` or ``'hnsw'``.
            check_fingerprint (bool): refuse a gallery file or index built by
                another model (default).

        Returns:
            Gallery | SearchIndex: the gallery (``items``, ``search``).
        """
        if isinstance(images_or_dir, (str, os.PathLike)) and (
                is_gallery_file(images_or_dir) or is_index_dir(images_or_dir)):
            self.image_gallery = self.open_gallery(
                images_or_dir, 'image', check_fingerprint)
            return self.image_gallery
        if isinstance(images_or_dir, (str, os.PathLike)):
            images = list_images(str(images_or_dir))
        else:
            images = list(images_or_dir)
        names = [str(i) if not isinstance(i, np.ndarray) else f'<array {n}>'
                 for n, i in enumerate(images)]
        gallery = self._cached(cache, names, 'image', index_type)
        if gallery is None:
            gallery = self._store(self.encode_image(images), names, 'image',
                                  cache, dtype, index_type)
        self.image_gallery = gallery
        return gallery

    def build_text_gallery(self,
                           texts: Union[str, Sequence[str]],
                           cache: Optional[str] = None,
                           dtype: torch.dtype = torch.float32,
                           index_type: Optional[str] = None,
                           check_fingerprint: bool = True):
        """Encode captions as the gallery of image->text search.

        ``texts`` is a list of captions, a ``.txt`` file (one caption per
        line), a ``.safetensors`` text gallery or a text index folder; the
        other arguments are those of :meth:`build_gallery`.
        """
        if isinstance(texts, (str, os.PathLike)):
            path = str(texts)
            if is_gallery_file(path) or is_index_dir(path):
                self.text_gallery = self.open_gallery(path, 'text',
                                                      check_fingerprint)
                return self.text_gallery
            if not osp.isfile(path):
                raise FileNotFoundError(f'caption file {path!r} does not '
                                        'exist')
            with open(path, encoding='utf-8') as f:
                texts = [ln.strip() for ln in f if ln.strip()]
        texts = list(texts)
        if not texts:
            raise ValueError('no captions to build a text gallery from')
        gallery = self._cached(cache, texts, 'text', index_type)
        if gallery is None:
            gallery = self._store(self.encode_text(texts), texts, 'text',
                                  cache, dtype, index_type)
        self.text_gallery = gallery
        return gallery

    # -------------------------------------------------------------- search
    @staticmethod
    def _is_image_query(query) -> bool:
        if isinstance(query, np.ndarray):
            return True
        return isinstance(query, (str, os.PathLike)) and str(
            query).lower().endswith(IMAGE_EXTENSIONS) and osp.isfile(query)

    def search(self, query, topk: int = 10,
               modality: Optional[str] = None,
               chunk_size: Optional[int] = None,
               **search_kwargs) -> Union[list, List[list]]:
        """Top-k results of a query, or of each query of a list.

        A caption searches the image gallery (text->image); an image (path
        of an existing image file or HxWx3 uint8 RGB array) searches the text
        gallery (image->text).  ``modality='text'|'image'`` forces the kind.
        ``search_kwargs`` (``nprobe``, ``ef_search``, ``rerank``) tune an
        approximate index (:meth:`sdtr.search.index.SearchIndex.search`).

        Returns:
            list[dict]: ``rank`` (1-based), ``index`` (gallery row),
            ``score`` (cosine) and ``item`` (image path or caption), best
            first; a list of such lists for a list of queries.
        """
        single = not isinstance(query, (list, tuple))
        queries = [query] if single else list(query)
        if not queries:
            raise ValueError('no query given')
        kinds = {modality or ('image' if self._is_image_query(q) else 'text')
                 for q in queries}
        if len(kinds) != 1 or not kinds <= {'image', 'text'}:
            raise ValueError(f'queries must all be captions or all images '
                             f'(modality={modality!r})')
        kind = kinds.pop()
        if kind == 'text':
            gallery, feats = self.image_gallery, self.encode_text(queries)
            need = 'build_gallery(images)'
        else:
            gallery, feats = self.text_gallery, self.encode_image(queries)
            need = 'build_text_gallery(captions)'
        if gallery is None:
            raise RuntimeError(f'a {kind} query needs a gallery: call {need} '
                               'first')
        if gallery.dim != feats.shape[1]:
            raise ValueError(
                f'gallery features have dim {gallery.dim} but '
                f'the model gives {feats.shape[1]}: the gallery cache was '
                'built by another model')
        scores, indices = gallery.search(feats, topk, chunk_size=chunk_size,
                                         **search_kwargs)
        results = [[dict(rank=r + 1, index=int(i), score=float(s),
                         item=gallery.items[int(i)])
                    for r, (s, i) in enumerate(zip(srow, irow)) if i >= 0]
                   for srow, irow in zip(scores, indices)]
        return results[0] if single else results

    __call__ = search
