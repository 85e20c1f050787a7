"""What the web app does, without HTTP: encode a query, search a gallery,
describe the results.

Three kinds of query reach :class:`SearchService`:

* a caption (:meth:`~SearchService.search_text`) -> images;
* an uploaded image (:meth:`~SearchService.search_image`) -> captions or
  images;
* a gallery image, by row (:meth:`~SearchService.search_row`) -> captions
  or images, searched with the row's stored feature (the model's embedding
  of that image), so a click on a result needs no forward pass.

Every result is ``{"rank", "index", "score", "item", "captions", "match",
"image_url"}``: ``item`` is the caption, or the image file relative to the
gallery's folder (:func:`common_root`; an image outside it is named by its
file name: answers never hold an absolute path); ``captions`` the
image's captions and ``match`` whether it is a true match of the query, both
from the :class:`~sdtr.serve.annotations.SplitAnnotations` when the server
has them (else ``[]`` / ``None``).  Bad input raises :class:`QueryError`
with the HTTP status the app answers with.
"""
import os
import os.path as osp
import threading
import time
from typing import Optional

MAX_QUERY_CHARS = 1000
TARGETS = {'images': 'image', 'captions': 'text'}


class QueryError(Exception):
    """A request the server refuses: ``status`` (HTTP) and a message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def common_root(items, sample: int = 4096) -> Optional[str]:
    """The deepest folder holding every absolute path among ``sample``
    evenly spaced rows of ``items`` (every row of a smaller gallery), so a
    gallery of millions is opened in milliseconds."""
    n = len(items)
    rows = range(n) if n <= sample else sorted(
        {round(i * (n - 1) / (sample - 1)) for i in range(sample)})
    root = None
    for row in rows:
        item = items[row]
        if not osp.isabs(item):
            continue
        folder = osp.dirname(item)
        if root is None:
            root = folder
        elif folder != root and not folder.startswith(root + os.sep):
            root = osp.commonpath([root, folder])
    return root


class SearchService:
    """Search of an image gallery and/or a caption gallery.

    Args:
        inferencer (RetrievalInferencer): encodes the queries.
        image_gallery: image :class:`~sdtr.search.index.SearchIndex` or
            :class:`~sdtr.search.gallery.Gallery` (searched by captions and
            images).
        text_gallery: caption gallery (searched by images).
        annotations (SplitAnnotations, optional): captions and identities
            of the galleries' items.
        max_topk (int): the largest ``topk`` a query may ask for.
        search_kwargs (dict, optional): ``nprobe`` / ``ef_search`` /
            ``rerank`` for approximate indexes.
    """

    def __init__(self, inferencer, image_gallery=None, text_gallery=None,
                 annotations=None, max_topk: int = 100,
                 search_kwargs: Optional[dict] = None):
        if image_gallery is None and text_gallery is None:
            raise ValueError('the app needs an image gallery, a caption '
                             'gallery or both')
        for gal, kind, article in ((image_gallery, 'image', 'an'),
                                   (text_gallery, 'text', 'a')):
            if gal is not None and gal.kind != kind:
                raise ValueError(f'expected {article} {kind} gallery, got '
                                 f'{"an" if gal.kind == "image" else "a"} '
                                 f'{gal.kind} one')
        self.inferencer = inferencer
        self.galleries = dict(image=image_gallery, text=text_gallery)
        self.annotations = annotations
        self.max_topk = int(max_topk)
        self.search_kwargs = dict(search_kwargs or {})
        self.lock = threading.Lock()  # one forward pass / search at a time
        self.image_root = common_root(image_gallery.items) \
            if image_gallery is not None else None
        self.coverage = self._check_coverage() if annotations else None

    # ---------------------------------------------------------- describe
    def _check_coverage(self) -> dict:
        """How many gallery items the annotations know; none is an error
        (the wrong split, or a gallery of another dataset)."""
        ann, covered = self.annotations, {}
        for kind, gal in self.galleries.items():
            if gal is None:
                continue
            known = ann.image if kind == 'image' else ann.caption_pids
            covered[kind] = sum(1 for item in gal.items if known(item))
            if not covered[kind]:
                first = self.item_name(kind, gal.items[0])
                raise ValueError(
                    f'{ann.name} has none of the {len(gal)} items of the '
                    f'{kind} gallery (its first is {first!r}): was the '
                    f'gallery built from {ann.name} of this config?')
        return covered

    def info(self) -> dict:
        """The model and the galleries (digests and counts, no paths)."""
        inf = self.inferencer
        fp = inf.fingerprint
        galleries = {
            kind: None if gal is None else dict(
                count=len(gal), dim=gal.dim,
                index_type=getattr(gal, 'index_type', 'flat (in memory)'))
            for kind, gal in self.galleries.items()}
        ann = None if self.annotations is None else dict(
            name=self.annotations.name, **{
                f'{k}_covered': v for k, v in self.coverage.items()})
        return dict(model=type(inf.model).__name__,
                    config=osp.basename(str(getattr(inf.cfg, 'filename', '')
                                            or '')) or None,
                    fingerprint=dict(weights=fp.get('weights'),
                                     config=fp.get('config')),
                    image_gallery=galleries['image'],
                    text_gallery=galleries['text'], annotations=ann)

    def item_name(self, kind: str, item: str) -> str:
        """A caption as it is; an image file relative to the gallery's
        folder (its base name when outside it)."""
        if kind == 'text':
            return item
        root = self.image_root
        if root and root != os.sep and item.startswith(root + os.sep):
            return item[len(root) + 1:]
        return osp.basename(item) if osp.isabs(item) else item

    # ------------------------------------------------------------ search
    def gallery(self, target: str):
        """The gallery a query of ``target`` (``'images'`` or
        ``'captions'``) searches."""
        if target not in TARGETS:
            raise QueryError(422, f'target must be one of {list(TARGETS)}, '
                             f'got {target!r}')
        gallery = self.galleries[TARGETS[target]]
        if gallery is None:
            raise QueryError(409, 'this server has no image gallery: start '
                             'it with --gallery IMAGE_INDEX' if target ==
                             'images' else 'this server has no caption '
                             'gallery: start it with --captions '
                             'CAPTION_INDEX')
        return gallery

    def check(self, topk: int, target: str = 'images'):
        """:meth:`gallery`, refusing a ``topk`` out of range: what a query
        checks before any work is done."""
        gallery = self.gallery(target)
        if not 1 <= topk <= self.max_topk:
            raise QueryError(422, f'topk must be between 1 and '
                             f'{self.max_topk}, got {topk}')
        return gallery

    def search_text(self, text, topk: int) -> dict:
        """The images of a caption."""
        start = time.perf_counter()
        gallery = self.check(topk, 'images')
        if not isinstance(text, str) or not text.strip():
            raise QueryError(422, 'the query is empty: type a description '
                             'of the image you look for')
        if len(text) > MAX_QUERY_CHARS:
            raise QueryError(422, f'the query has {len(text)} characters; '
                             f'at most {MAX_QUERY_CHARS}')
        try:
            text.encode('utf-8')
        except UnicodeEncodeError as err:
            raise QueryError(422, f'the query is not valid Unicode '
                             f'({err.reason} at character {err.start})') \
                from err
        relevant = self.annotations.caption_pids(text) or None \
            if self.annotations else None
        with self.lock:
            feats = self.inferencer.encode_text([text.strip()])
        return self._answer(gallery, feats, topk, relevant, dict(text=text),
                            start)

    def search_image(self, image, name: str, topk: int,
                     target: str = 'captions') -> dict:
        """The captions or images of an uploaded image (HxWx3 uint8 RGB)."""
        start = time.perf_counter()
        gallery = self.check(topk, target)
        with self.lock:
            feats = self.inferencer.encode_image(image)
        return self._answer(gallery, feats, topk, None, dict(name=name),
                            start)

    def search_row(self, row: int, topk: int,
                   target: str = 'captions') -> dict:
        """The captions or images of gallery image ``row``."""
        import numpy as np
        start = time.perf_counter()
        gallery = self.check(topk, target)
        images = self.gallery('images')
        if not 0 <= row < len(images):
            raise QueryError(404, f'no gallery image {row} (the gallery has '
                             f'{len(images)})')
        vectors = getattr(images, 'vectors', None)
        if vectors is None:  # a Gallery holds torch features
            vectors = images.features
        feats = np.asarray(vectors[row:row + 1], dtype=np.float32)
        item = images.items[row]
        known = self.annotations.image(item) if self.annotations else None
        return self._answer(gallery, feats, topk,
                            None if known is None else {known[0]},
                            dict(row=row, name=self.item_name('image', item),
                                 image_url=f'/api/image/{row}'), start)

    def _answer(self, gallery, feats, topk, relevant, query, start) -> dict:
        kind = gallery.kind
        with self.lock:
            scores, rows = gallery.search(feats, topk, **self.search_kwargs)
        results = []
        for rank, (score, row) in enumerate(zip(scores[0].tolist(),
                                                rows[0].tolist()), 1):
            if row >= 0:
                results.append(dict(rank=rank, index=row, score=float(score),
                                    **self._describe(kind, gallery.items[row],
                                                     row, relevant)))
        marks = [r['match'] for r in results if r['match'] is not None]
        return dict(query=query, kind=kind, results=results,
                    matches=sum(marks) if marks else None,
                    ms=1e3 * (time.perf_counter() - start))

    def _describe(self, kind, item, row, relevant) -> dict:
        """``item``, ``captions``, ``match`` and ``image_url`` of a row."""
        pids, captions = None, []
        if self.annotations is not None and kind == 'image':
            known = self.annotations.image(item)
            if known is not None:
                pids, captions = {known[0]}, known[1]
        elif self.annotations is not None:
            pids = self.annotations.caption_pids(item) or None
        match = None if relevant is None or pids is None else \
            bool(pids & relevant)
        return dict(item=self.item_name(kind, item), captions=captions,
                    match=match,
                    image_url=f'/api/image/{row}' if kind == 'image' else None)

    # -------------------------------------------------------- thumbnails
    def thumbnail(self, row: int, size: int) -> bytes:
        """PNG of gallery image ``row`` fitted to ``size`` x ``size``
        (small images enlarged)."""
        import io

        from PIL import Image

        from sdtr.visualization import fit_tile
        images = self.galleries['image']
        if images is None or not 0 <= row < len(images):
            raise QueryError(404, f'no gallery image {row}')
        try:
            with Image.open(images.items[row]) as img:
                img.draft('RGB', (size, size))  # JPEG: decode at low size
                tile = fit_tile(img.convert('RGB'), size)
        except (OSError, ValueError) as err:
            raise QueryError(404, f'gallery image {row} cannot be read '
                             f'({type(err).__name__})') from err
        buf = io.BytesIO()
        tile.save(buf, format='PNG')
        return buf.getvalue()
