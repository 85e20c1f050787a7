"""Reading an uploaded query image without trusting it.

* The body arrives through FastAPI's request-body limit (``max_body_size``:
  Content-Length is checked first, then the bytes are counted while they
  stream in), so it is never larger than the server's limit; the multipart
  form is parsed in memory (:func:`read_upload`), so an upload never
  touches the disk.
* The pixel count is read from the image header before anything is
  decoded (:func:`decode_image`): a small file that claims a huge image is
  refused instead of inflating to gigabytes.  Only common formats are
  parsed.

See ``docs/inference.md#web-app-toolsservepy--sdtr-serve``.
"""
import io

import numpy as np

from .service import QueryError

#: formats an upload may have (Pillow plugin names)
UPLOAD_FORMATS = ('PNG', 'JPEG', 'WEBP', 'TIFF', 'BMP', 'GIF')


def display_name(name) -> str:
    """A file name as it can be shown and JSON-encoded (characters that are
    not valid Unicode, e.g. lone surrogates, become ``?``)."""
    name = str(name or 'the upload')
    return name.encode('utf-8', 'replace').decode('utf-8')


async def read_upload(request, max_bytes: int):
    """``(file name, bytes)`` of the ``file`` field of a multipart request.

    The form is parsed in memory: the request-body limit bounds it, so it
    is never spooled to a temporary file.
    """
    from starlette.formparsers import MultiPartException, MultiPartParser
    if not request.headers.get('content-type', '').startswith(
            'multipart/form-data'):
        raise QueryError(422, 'send the image as the multipart form field '
                         '"file" (curl -F file=@image.png ...)')
    parser = MultiPartParser(request.headers, request.stream(), max_files=1,
                             max_fields=8)
    parser.spool_max_size = max_bytes + 1  # files stay in memory
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise QueryError(422, f'the upload is not a valid form: '
                         f'{err.message}') from err
    upload = form.get('file')
    try:
        if upload is None or isinstance(upload, str):
            raise QueryError(422, 'no image in the upload: send it as the '
                             'multipart form field "file"')
        data = await upload.read()
    finally:
        await form.close()
    if not data:
        raise QueryError(422, f'{display_name(upload.filename)} is empty')
    return display_name(upload.filename), data


def decode_image(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    """HxWx3 uint8 RGB array of an uploaded image, refusing an image of
    more than ``max_pixels`` pixels from its header (before decoding) and
    anything Pillow cannot read as one of :data:`UPLOAD_FORMATS`."""
    from PIL import Image, UnidentifiedImageError
    limit = (f'this server decodes at most {max_pixels / 1e6:.1f} '
             'megapixels (--max-pixels)')
    try:
        img = Image.open(io.BytesIO(data), formats=UPLOAD_FORMATS)
    except Image.DecompressionBombError as err:
        raise QueryError(422, f'{name} has far too many pixels: '
                         f'{limit}') from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise QueryError(415, f'{name} is not an image this server reads '
                         f'({", ".join(UPLOAD_FORMATS)})') from err
    with img:
        width, height = img.size
        if width * height > max_pixels:
            raise QueryError(422, f'{name} is {width} x {height} pixels '
                             f'({width * height / 1e6:.1f} megapixels): '
                             f'{limit}')
        try:
            img.load()
            rgb = img.convert('RGB')
        except (OSError, ValueError, SyntaxError, EOFError) as err:
            raise QueryError(415, f'{name} is a damaged {img.format} image '
                             f'({err})') from err
    return np.asarray(rgb, dtype=np.uint8)
