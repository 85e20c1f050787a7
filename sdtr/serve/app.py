"""A local web app for text -> image and image -> caption search.

Built on FastAPI (served by uvicorn; see ``docs/inference.md`` for why):
typed request validation, JSON errors and a test client come with it.

Routes:

* ``GET /``: the search page (:mod:`sdtr.serve.page`);
* ``GET /api/info``: the model, its fingerprint and the galleries;
* ``GET /api/search/text?q=...&topk=10`` or ``POST /api/search/text`` with
  ``{"query": "...", "topk": 10}``: the top-k images of a caption;
* ``POST /api/search/image?topk=10`` with a multipart ``file``: the top-k
  captions of an uploaded image;
* ``GET /api/image/{index}``: the image of gallery row ``index`` as a PNG
  thumbnail (small images enlarged).  Only gallery rows can be asked for,
  never a path, so nothing but the gallery's own files is served.

Bad input gets an HTTP 4xx answer with a JSON ``detail`` message and the
server goes on: an empty or too long query (422), a ``topk`` out of range
(422), a search of a gallery the server was not given (409), an upload that
is not a readable image (415) or is larger than ``max_upload_bytes`` (413),
an unknown gallery row (404).  Search results are
``{"query", "kind", "ms", "results": [{"rank", "index", "score", "item",
"name", "image_url"}]}``, best first.
"""
import io
import os.path as osp
import threading
import time
import warnings
from typing import Optional

MAX_QUERY_CHARS = 1000


def create_app(inferencer, image_gallery=None, text_gallery=None,
               max_topk: int = 100, max_upload_bytes: int = 10 * 2**20,
               thumb_size: int = 192, search_kwargs: Optional[dict] = None):
    """The FastAPI application.

    Args:
        inferencer (RetrievalInferencer): encodes the queries.
        image_gallery: image :class:`~sdtr.search.index.SearchIndex` or
            :class:`~sdtr.search.gallery.Gallery` (text -> image search).
        text_gallery: caption gallery (image -> text search).
        max_topk (int): largest ``topk`` a request may ask for.
        max_upload_bytes (int): largest accepted upload.
        thumb_size (int): side of the served thumbnails.
        search_kwargs (dict, optional): ``nprobe`` / ``ef_search`` /
            ``rerank`` for approximate indexes.
    """
    from fastapi import Body, FastAPI, File, HTTPException, Query, UploadFile
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from PIL import Image, UnidentifiedImageError

    from sdtr.visualization import fit_tile
    from .page import PAGE

    if image_gallery is None and text_gallery is None:
        raise ValueError('the app needs an image gallery, a caption gallery '
                         'or both')
    for gal, kind in ((image_gallery, 'image'), (text_gallery, 'text')):
        if gal is not None and gal.kind != kind:
            raise ValueError(f'expected an {kind} gallery, got a '
                             f'{gal.kind} one' if kind == 'image' else
                             f'expected a {kind} gallery, got an '
                             f'{gal.kind} one')
    app = FastAPI(title='sdtr search', docs_url='/api/docs',
                  redoc_url=None)
    lock = threading.Lock()  # one forward pass at a time
    search_kwargs = dict(search_kwargs or {})

    def describe_gallery(gal):
        if gal is None:
            return None
        return dict(count=len(gal), dim=gal.dim, kind=gal.kind,
                    index_type=getattr(gal, 'index_type', 'flat (in memory)'),
                    path=getattr(gal, 'path', None))

    def check_topk(topk):
        if not 1 <= topk <= max_topk:
            raise HTTPException(422, f'topk must be between 1 and '
                                f'{max_topk}, got {topk}')

    def run_search(gal, feats, topk, kind, query, start):
        with lock:
            scores, rows = gal.search(feats, topk, **search_kwargs)
        results = []
        for rank, (s, i) in enumerate(zip(scores[0].tolist(),
                                           rows[0].tolist())):
            if i < 0:
                continue
            item = gal.items[i]
            results.append(dict(
                rank=rank + 1, index=i, score=float(s), item=item,
                name=osp.basename(item) if kind == 'image' else item,
                image_url=f'/api/image/{i}' if kind == 'image' else None))
        return dict(query=query, kind=kind, results=results,
                    ms=1e3 * (time.perf_counter() - start))

    @app.exception_handler(Exception)
    async def internal_error(request, exc):  # never a bare crash
        return JSONResponse(status_code=500, content=dict(
            detail=f'internal error: {type(exc).__name__}: {exc}'))

    @app.get('/', response_class=HTMLResponse)
    def page():
        return PAGE

    @app.get('/api/info')
    def info():
        return dict(model=type(inferencer.model).__name__,
                    config=getattr(inferencer.cfg, 'filename', None),
                    fingerprint=inferencer.fingerprint,
                    image_gallery=describe_gallery(image_gallery),
                    text_gallery=describe_gallery(text_gallery),
                    max_topk=max_topk, max_upload_bytes=max_upload_bytes)

    def text_search(query, topk):
        start = time.perf_counter()
        if image_gallery is None:
            raise HTTPException(409, 'this server has no image gallery: '
                                'start it with --gallery IMAGE_INDEX')
        if not isinstance(query, str) or not query.strip():
            raise HTTPException(422, 'the query is empty: type a '
                                'description of the image you look for')
        if len(query) > MAX_QUERY_CHARS:
            raise HTTPException(422, f'the query has {len(query)} '
                                f'characters; at most {MAX_QUERY_CHARS}')
        check_topk(topk)
        with lock:
            feats = inferencer.encode_text([query.strip()])
        return run_search(image_gallery, feats, topk, 'image', query, start)

    @app.get('/api/search/text')
    def search_text_get(q: str = Query('', description='caption'),
                        topk: int = Query(10)):
        return text_search(q, topk)

    @app.post('/api/search/text')
    def search_text_post(query: str = Body('', embed=True),
                         topk: int = Body(10, embed=True)):
        return text_search(query, topk)

    @app.post('/api/search/image')
    def search_image(file: UploadFile = File(...), topk: int = Query(10)):
        start = time.perf_counter()
        if text_gallery is None:
            raise HTTPException(409, 'this server has no caption gallery: '
                                'start it with --captions CAPTION_INDEX')
        check_topk(topk)
        data = file.file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            raise HTTPException(413, f'the upload is larger than '
                                f'{max_upload_bytes / 2**20:.1f} MiB')
        if not data:
            raise HTTPException(422, 'the upload is empty')
        try:
            with warnings.catch_warnings():
                warnings.simplefilter('error', Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as img:
                    img.load()
                    rgb = img.convert('RGB')
        except (UnidentifiedImageError, OSError, ValueError,
                Image.DecompressionBombError,
                Image.DecompressionBombWarning) as err:
            raise HTTPException(
                415, f'{file.filename or "the upload"} is not a readable '
                f'image ({type(err).__name__}: {err})') from err
        import numpy as np
        with lock:
            feats = inferencer.encode_image(np.asarray(rgb, dtype=np.uint8))
        return run_search(text_gallery, feats, topk, 'text',
                          file.filename or 'upload', start)

    @app.get('/api/image/{index}')
    def image(index: int):
        if image_gallery is None or not 0 <= index < len(image_gallery):
            raise HTTPException(404, f'no gallery image {index}')
        path = image_gallery.items[index]
        try:
            with Image.open(path) as img:
                tile = fit_tile(img.convert('RGB'), thumb_size)
        except (OSError, ValueError) as err:
            raise HTTPException(404, f'gallery image {index} cannot be read '
                                f'({type(err).__name__})') from err
        buf = io.BytesIO()
        tile.save(buf, format='PNG')
        return Response(buf.getvalue(), media_type='image/png',
                        headers={'Cache-Control': 'max-age=3600'})

    return app
