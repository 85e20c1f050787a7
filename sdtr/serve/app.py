"""A local web app for text -> image, image -> caption and image -> image
search.

Built on FastAPI (served by uvicorn; see ``docs/inference.md`` for why).
The search itself is :class:`~sdtr.serve.service.SearchService`; this module
maps it to HTTP:

* ``GET /``: the search page (:mod:`sdtr.serve.page`);
* ``GET /api/info``: the model (digests, no paths), the galleries, the
  annotations and the server's limits;
* ``GET /api/search/text?q=...&topk=10`` or ``POST /api/search/text`` with
  ``{"query": "...", "topk": 10}``: the top-k images of a caption;
* ``POST /api/search/image?topk=10&target=captions|images`` with a
  multipart ``file``: the top-k captions or images of an uploaded image;
* ``GET /api/search/image/{row}?topk=10&target=captions|images``: the same
  for gallery image ``row`` (a click on a result);
* ``GET /api/image/{row}``: the thumbnail (PNG) of gallery image ``row``.
  Only gallery rows can be asked for, never a path.

Every refusal is an HTTP 4xx answer with a JSON ``detail`` string and the
server goes on: an empty, too long or invalid-Unicode query, a ``topk`` out
of range, an image of more than ``max_pixels`` pixels (422); a search of a
gallery the server was not given (409); an upload that is not a readable
image (415); a request body over ``max_upload_bytes`` (413, refused while it
streams in); a ``Host`` header that is not one of ``allowed_hosts`` (400,
against DNS rebinding); an unknown gallery row (404).  The app has no
authentication (``docs/inference.md`` shows how to put it behind a proxy
that has).
"""
import logging
from typing import Optional, Sequence

from .service import MAX_QUERY_CHARS, QueryError, SearchService

#: the names a browser on this machine uses for it
LOCAL_HOSTS = ('127.0.0.1', 'localhost', '[::1]')
#: pixels an uploaded image may have (4096 x 4096)
MAX_PIXELS = 4096 * 4096

logger = logging.getLogger(__name__)


def create_app(inferencer, image_gallery=None, text_gallery=None,
               max_topk: int = 100, max_upload_bytes: int = 10 * 2**20,
               thumb_size: int = 192, search_kwargs: Optional[dict] = None,
               annotations=None, max_pixels: int = MAX_PIXELS,
               allowed_hosts: Sequence[str] = LOCAL_HOSTS):
    """The FastAPI application.

    Args:
        inferencer (RetrievalInferencer): encodes the queries.
        image_gallery: image :class:`~sdtr.search.index.SearchIndex` or
            :class:`~sdtr.search.gallery.Gallery` (text -> image search).
        text_gallery: caption gallery (image -> text search).
        max_topk (int): largest ``topk`` a request may ask for.
        max_upload_bytes (int): largest request body.
        thumb_size (int): side of the served thumbnails.
        search_kwargs (dict, optional): ``nprobe`` / ``ef_search`` /
            ``rerank`` for approximate indexes.
        annotations (SplitAnnotations, optional): captions and true
            matches of the galleries' items.
        max_pixels (int): largest uploaded image (width x height), checked
            from its header before decoding; at most Pillow's own
            decompression-bomb limit.
        allowed_hosts (list[str]): accepted ``Host`` names (Starlette's
            ``TrustedHostMiddleware``; ``'*'`` accepts any).
    """
    from fastapi import FastAPI
    from PIL import Image
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    bomb = Image.MAX_IMAGE_PIXELS
    if bomb is not None and max_pixels > bomb:
        raise ValueError(f'max_pixels={max_pixels} is above Pillow\'s '
                         f'decompression-bomb limit ({bomb}); keep it below')
    service = SearchService(inferencer, image_gallery, text_gallery,
                            annotations=annotations, max_topk=max_topk,
                            search_kwargs=search_kwargs)
    limits = dict(max_topk=int(max_topk),
                  max_upload_bytes=int(max_upload_bytes),
                  max_pixels=int(max_pixels),
                  max_query_chars=MAX_QUERY_CHARS)
    app = FastAPI(title='sdtr search', docs_url='/api/docs', redoc_url=None,
                  max_body_size=int(max_upload_bytes))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=[
        f'[{h}]' if ':' in h and not h.startswith('[') else h
        for h in allowed_hosts])
    add_error_handlers(app)
    add_page_routes(app, service, limits, thumb_size)
    add_search_routes(app, service, limits)
    app.state.service = service
    return app


def add_error_handlers(app) -> None:
    """Every error is JSON ``{"detail": "<one readable sentence>"}``; none
    echoes the input or shows a path.  (A body over the limit gets
    Starlette's own 413 "Content Too Large".)"""
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException

    def answer(status, detail):
        return JSONResponse(status_code=status, content=dict(detail=detail))

    @app.exception_handler(QueryError)
    async def refused(request, exc):
        return answer(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc):
        said = []
        for err in exc.errors():
            if err.get('type') == 'json_invalid':
                said.append('the request body is not valid JSON')
                continue
            where = '.'.join(str(p) for p in err.get('loc', ())[1:]
                             if isinstance(p, str))
            said.append(f'{where}: {err.get("msg")}' if where else
                        str(err.get('msg')))
        return answer(422, '; '.join(said) or 'invalid request')

    @app.exception_handler(HTTPException)
    async def http_error(request, exc):
        if isinstance(exc.__cause__, UnicodeDecodeError):  # FastAPI's 400
            return answer(422, 'the request body is not valid UTF-8')
        return await http_exception_handler(request, exc)

    @app.exception_handler(Exception)
    async def internal(request, exc):  # never a bare crash, never a path
        logger.error('error answering %s', request.url.path,
                     exc_info=(type(exc), exc, exc.__traceback__))
        return answer(500, f'internal error ({type(exc).__name__}); the '
                      'server log has the details')


def add_page_routes(app, service: SearchService, limits: dict,
                    thumb_size: int) -> None:
    """The page, ``/api/info`` and the thumbnails."""
    from fastapi.responses import HTMLResponse, Response

    from .page import PAGE

    @app.get('/', response_class=HTMLResponse)
    def page():
        return PAGE

    @app.get('/api/info')
    def info():
        return dict(service.info(), **limits)

    @app.get('/api/image/{row}')
    def image(row: int):
        return Response(service.thumbnail(row, thumb_size),
                        media_type='image/png',
                        headers={'Cache-Control': 'max-age=3600'})


def add_search_routes(app, service: SearchService, limits: dict) -> None:
    """The three kinds of query (text, uploaded image, gallery image)."""
    from fastapi import Body, Query, Request
    from starlette.concurrency import run_in_threadpool

    from .uploads import decode_image, read_upload

    @app.get('/api/search/text')
    def search_text_get(q: str = Query('', description='a caption'),
                        topk: int = Query(10)):
        return service.search_text(q, topk)

    @app.post('/api/search/text')
    def search_text_post(query: str = Body('', embed=True),
                         topk: int = Body(10, embed=True)):
        return service.search_text(query, topk)

    @app.post('/api/search/image', openapi_extra=dict(requestBody=dict(
        content={'multipart/form-data': dict(schema=dict(
            type='object', required=['file'], properties=dict(file=dict(
                type='string', format='binary'))))})))
    async def search_image(request: Request, topk: int = Query(10),
                           target: str = Query('captions')):
        service.check(topk, target)  # before reading the upload
        name, data = await read_upload(request, limits['max_upload_bytes'])
        array = await run_in_threadpool(decode_image, data, name,
                                        limits['max_pixels'])
        return await run_in_threadpool(service.search_image, array, name,
                                       topk, target)

    @app.get('/api/search/image/{row}')
    def search_row(row: int, topk: int = Query(10),
                   target: str = Query('captions')):
        return service.search_row(row, topk, target)
