"""The search web app through FastAPI's test client: the page, both search
directions, thumbnails by gallery row only, and clear 4xx answers to bad
input without taking the server down."""
import io

import numpy as np
import pytest
from PIL import Image

pytest.importorskip('fastapi')
pytest.importorskip('httpx')


@pytest.fixture(scope='module')
def client(served):
    from fastapi.testclient import TestClient

    from sdtr.serve import create_app
    app = create_app(served['inferencer'], served['images_gallery'],
                     served['text_gallery'], max_topk=20,
                     max_upload_bytes=200_000)
    return TestClient(app, raise_server_exceptions=False)


def png_bytes(size=24, seed=0):
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3),
                                               dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='PNG')
    return buf.getvalue(), arr


def test_page_and_info(client, served):
    page = client.get('/')
    assert page.status_code == 200 and 'id="query"' in page.text
    info = client.get('/api/info').json()
    assert info['image_gallery']['count'] == 12
    assert info['text_gallery']['count'] == 6
    assert info['fingerprint'] == served['inferencer'].fingerprint


def test_text_search_matches_inferencer(client, served):
    query = 'a white ship in a harbour'
    expect = served['inferencer'].search(query, topk=5)
    got = client.post('/api/search/text', json=dict(query=query, topk=5))
    assert got.status_code == 200
    res = got.json()['results']
    assert [r['index'] for r in res] == [e['index'] for e in expect]
    assert [r['rank'] for r in res] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([r['score'] for r in res],
                               [e['score'] for e in expect], atol=1e-6)
    assert res[0]['name'] == expect[0]['item'].rsplit('/', 1)[1]
    assert res[0]['image_url'] == f'/api/image/{res[0]["index"]}'
    same = client.get('/api/search/text', params=dict(q=query, topk=5))
    assert [r['index'] for r in same.json()['results']] == \
        [r['index'] for r in res]


def test_image_search_returns_captions(client, served):
    data, arr = png_bytes(seed=3)
    got = client.post('/api/search/image', params=dict(topk=3),
                      files=dict(file=('q.png', data, 'image/png')))
    assert got.status_code == 200, got.text
    res = got.json()['results']
    expect = served['inferencer'].search(arr, topk=3)
    assert [r['item'] for r in res] == [e['item'] for e in expect]
    assert all(r['item'] in served['caption_list'] for r in res)


def test_thumbnails_only_from_gallery_rows(client, served):
    got = client.get('/api/image/3')
    assert got.status_code == 200 and got.headers['content-type'] == \
        'image/png'
    with Image.open(io.BytesIO(got.content)) as img:
        assert img.size == (192, 192)  # the 32-px tile is enlarged
        # nearest-neighbour enlargement: the first 6x6 pixels are one pixel
        src = np.asarray(Image.open(served['images_gallery'].items[3]))
        assert (np.asarray(img)[:6, :6] == src[0, 0]).all()
    for bad in ('/api/image/12', '/api/image/-1', '/api/image/abc',
                '/api/image/..%2F..%2Fetc%2Fpasswd', '/api/image/../../x'):
        assert client.get(bad).status_code in (404, 422), bad


@pytest.mark.parametrize('body,status,words', [
    (dict(query='', topk=5), 422, 'query is empty'),
    (dict(query='   ', topk=5), 422, 'query is empty'),
    (dict(query='x' * 1001, topk=5), 422, 'at most 1000'),
    (dict(query='a river', topk=0), 422, 'between 1 and 20'),
    (dict(query='a river', topk=21), 422, 'between 1 and 20'),
    (dict(query=['a', 'list'], topk=5), 422, 'query'),
])
def test_bad_text_queries(client, body, status, words):
    got = client.post('/api/search/text', json=body)
    assert got.status_code == status
    assert words in str(got.json()['detail'])


def test_bad_uploads(client):
    cases = [
        (('notes.txt', b'not an image at all', 'text/plain'), 415,
         'notes.txt is not a readable image'),
        (('empty.png', b'', 'image/png'), 422, 'upload is empty'),
        (('big.png', b'\x89PNG' + b'0' * 300_000, 'image/png'), 413,
         'larger than'),
        (('cut.png', png_bytes()[0][:60], 'image/png'), 415,
         'not a readable image'),
    ]
    for file, status, words in cases:
        got = client.post('/api/search/image', files=dict(file=file))
        assert got.status_code == status, (file[0], got.text)
        assert words in got.json()['detail']
    assert client.post('/api/search/image').status_code == 422
    # the server still answers
    assert client.get('/api/info').status_code == 200


def test_missing_gallery_is_409(served):
    from fastapi.testclient import TestClient

    from sdtr.serve import create_app
    only_text = TestClient(create_app(served['inferencer'],
                                      text_gallery=served['text_gallery']))
    got = only_text.get('/api/search/text', params=dict(q='a river'))
    assert got.status_code == 409 and '--gallery' in got.json()['detail']
    assert only_text.get('/api/image/0').status_code == 404
    with pytest.raises(ValueError, match='needs an image gallery'):
        create_app(served['inferencer'])
    with pytest.raises(ValueError,
                       match='expected an image gallery, got a text one'):
        create_app(served['inferencer'], served['text_gallery'])


def test_serve_cli_builds_app(served):
    from fastapi.testclient import TestClient

    from sdtr.tools.serve import build_app, parse_args
    args = parse_args([served['config'], served['ckpt'], '--gallery',
                       served['image_index'], '--captions',
                       served['caption_index']])
    assert args.host == '127.0.0.1'
    client = TestClient(build_app(args))
    assert client.get('/api/info').json()['image_gallery']['count'] == 12
    with pytest.raises(SystemExit):
        parse_args([served['config'], served['ckpt']])  # no gallery
    # a missing checkpoint is named at start
    bad = parse_args([served['config'], 'none-such.pth', '--gallery',
                      served['image_index']])
    with pytest.raises(Exception, match='none-such.pth'):
        build_app(bad)
