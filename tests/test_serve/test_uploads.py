"""Attacks on the upload route, each refused without the server paying for
it: an image whose header claims 81 to 196 megapixels (a few kilobytes
that would inflate to hundreds of megabytes), a 300 MiB body with and
without Content-Length against a real uvicorn server, and no temporary file
for any upload."""
import io
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

pytest.importorskip('fastapi')
pytest.importorskip('httpx')

MiB = 2**20


def png_claiming(width, height):
    """A valid black 1-bit PNG of ``width`` x ``height`` pixels: a few
    kilobytes, written row by row (the test never holds the image)."""
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data +
                struct.pack('>I', zlib.crc32(kind + data)))

    comp = zlib.compressobj(9)
    row = b'\0' * (1 + (width + 7) // 8)
    idat = b''.join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (b'\x89PNG\r\n\x1a\n' +
            chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0,
                                       0)) +
            chunk(b'IDAT', idat) + chunk(b'IEND', b''))


#: run in a fresh interpreter: a long test process keeps freed memory
#: resident (and glibc then serves large blocks from it), which hides growth
MEASURE = """
import json, os, sys, threading, time
from sdtr.serve.uploads import decode_image

page = os.sysconf('SC_PAGE_SIZE')

def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * page

def peak_growth(fn):
    base = peak = rss()
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss())
            time.sleep(0.001)

    thread = threading.Thread(target=sample)
    thread.start()
    try:
        result = fn()
    finally:
        done.set()
        thread.join()
    return result, peak - base

def refused():
    try:
        decode_image(bomb, 'bomb.png', int(sys.argv[2]))
    except Exception as exc:
        return f'{type(exc).__name__}: {exc}'

bomb = open(sys.argv[1], 'rb').read()
message, grown_refused = peak_growth(refused)
arr, grown_decoded = peak_growth(lambda: decode_image(bomb, 'x', 9000**2))
print(json.dumps(dict(message=message, refused=grown_refused,
                      decoded=grown_decoded, shape=list(arr.shape))))
"""


def decode_memory(bomb: bytes, max_pixels: int, tmp_path) -> dict:
    """Peak resident memory growth of ``decode_image`` refusing ``bomb``
    at ``max_pixels`` and then decoding it, in a fresh interpreter."""
    path = tmp_path / 'bomb.png'
    path.write_bytes(bomb)
    proc = subprocess.run([sys.executable, '-c', MEASURE, str(path),
                           str(max_pixels)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def temp_files(monkeypatch):
    """Every temporary file created while the test runs (Starlette spools
    large form parts to ``tempfile.TemporaryFile``)."""
    made = []
    for name in ('TemporaryFile', 'NamedTemporaryFile', 'mkstemp'):
        original = getattr(tempfile, name)

        def record(*args, _original=original, _name=name, **kwargs):
            made.append(_name)
            return _original(*args, **kwargs)
        monkeypatch.setattr(tempfile, name, record)
    return made


def make_app(served, **kwargs):
    from sdtr.serve import create_app
    return create_app(served['inferencer'], served['images_gallery'],
                      served['text_gallery'], **kwargs)


@pytest.fixture(scope='module')
def client(served):
    from fastapi.testclient import TestClient
    return TestClient(make_app(served, max_upload_bytes=4 * MiB),
                      base_url='http://127.0.0.1')


@pytest.mark.skipif(not os.path.exists('/proc/self/statm'),
                    reason='reads resident memory from /proc')
def test_pixel_bomb_refused_from_header(client, tmp_path):
    bomb = png_claiming(9000, 9000)
    assert len(bomb) < 64 * 1024
    got = client.post('/api/search/image',
                      files=dict(file=('bomb.png', bomb, 'image/png')))
    assert got.status_code == 422
    assert got.json()['detail'] == (
        'bomb.png is 9000 x 9000 pixels (81.0 megapixels): this server '
        'decodes at most 16.8 megapixels (--max-pixels)')
    # the same refusal costs no memory; the measurement sees a decode:
    # the same file, allowed, takes > 80 MB
    mem = decode_memory(bomb, 4096 * 4096, tmp_path)
    assert '81.0 megapixels' in mem['message']
    assert mem['refused'] < 40 * MiB, mem
    assert mem['shape'] == [9000, 9000, 3] and mem['decoded'] > 80 * MiB, mem


@pytest.mark.parametrize('side,words,warned', [
    (10000, '10000 x 10000 pixels (100.0 megapixels)', True),  # Pillow warns
    (14000, 'far too many pixels', False),  # DecompressionBombError
])
def test_pillow_bomb_bands_refused(client, side, words, warned):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        got = client.post('/api/search/image', files=dict(
            file=('b.png', png_claiming(side, side), 'image/png')))
    assert warned == any(issubclass(w.category,
                                    Image.DecompressionBombWarning)
                         for w in caught)
    assert got.status_code == 422 and words in got.json()['detail']
    assert '16.8 megapixels (--max-pixels)' in got.json()['detail']


def test_pixel_limit_stays_below_pillows(served):
    with pytest.raises(ValueError, match="decompression-bomb limit"):
        make_app(served, max_pixels=Image.MAX_IMAGE_PIXELS + 1)


def test_uploads_parsed_in_memory(client, served, temp_files):
    rng = np.random.default_rng(0)
    buf = io.BytesIO()  # random pixels: a ~2 MiB PNG
    Image.fromarray(rng.integers(0, 256, (840, 840, 3), np.uint8)).save(
        buf, format='PNG', compress_level=0)
    assert 2 * MiB < len(buf.getvalue()) < 4 * MiB
    got = client.post('/api/search/image', params=dict(topk=2),
                      files=dict(file=('big.png', buf.getvalue(),
                                       'image/png')))
    assert got.status_code == 200, got.text
    assert temp_files == []


class CountBody:
    """ASGI wrapper counting the request-body bytes the app pulled."""

    def __init__(self, app):
        self.app, self.pulled = app, 0

    async def __call__(self, scope, receive, send):
        async def counted():
            message = await receive()
            self.pulled += len(message.get('body', b''))
            return message
        await self.app(scope, counted, send)


@pytest.fixture(scope='module')
def live(served):
    """A real uvicorn server (1 MiB limit) on a free port of 127.0.0.1."""
    uvicorn = pytest.importorskip('uvicorn')
    app = CountBody(make_app(served, max_upload_bytes=MiB))
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level='warning'))
    thread = threading.Thread(target=server.run, kwargs=dict(sockets=[sock]))
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        assert thread.is_alive() and time.time() < deadline
        time.sleep(0.05)
    yield app, sock.getsockname()[1]
    server.should_exit = True
    thread.join(30)
    sock.close()


def post_stream(port, total, content_length):
    """POST ``total`` bytes of a multipart upload in 256 KiB pieces until
    the server answers; ``(status line, bytes sent)``."""
    head = (b'--xx\r\nContent-Disposition: form-data; name="file"; '
            b'filename="huge.png"\r\nContent-Type: image/png\r\n\r\n')
    lines = [b'POST /api/search/image HTTP/1.1', b'Host: 127.0.0.1',
             b'Content-Type: multipart/form-data; boundary=xx']
    lines.append(b'Content-Length: %d' % total if content_length else
                 b'Transfer-Encoding: chunked')
    conn = socket.create_connection(('127.0.0.1', port), timeout=30)
    conn.sendall(b'\r\n'.join(lines) + b'\r\n\r\n')
    piece, sent = b'\0' * (256 * 1024), 0
    try:
        while sent < total:
            if select.select([conn], [], [], 0.01)[0]:  # answered already
                answer = conn.recv(4096)
                break
            data = head if sent == 0 else piece
            conn.sendall(data if content_length else
                         b'%x\r\n' % len(data) + data + b'\r\n')
            sent += len(data)
        else:
            answer = conn.recv(4096)
    except (BrokenPipeError, ConnectionResetError):
        answer = conn.recv(4096)
    finally:
        conn.close()
    return answer.split(b'\r\n', 1)[0], sent


@pytest.mark.parametrize('content_length', [True, False])
def test_huge_body_refused_while_streaming(live, content_length,
                                           temp_files):
    app, port = live
    app.pulled = 0
    status, sent = post_stream(port, 300 * MiB, content_length)
    assert status.split()[1] == b'413', status
    assert sent < 100 * MiB  # the client was stopped early
    # the app read nothing (Content-Length) or at most the limit plus one
    # network read; nothing went to a temporary file
    assert app.pulled <= (0 if content_length else MiB + 65536), app.pulled
    assert temp_files == []
