"""The search web app through FastAPI's test client: the page, every route
(text, uploaded image and gallery image queries, to captions and to
images), captions and true-match marks from a split's annotations,
thumbnails by gallery row only, and a readable 4xx answer to bad input
without taking the server down."""
import io
import os.path as osp

import numpy as np
import pytest
from PIL import Image

pytest.importorskip('fastapi')
pytest.importorskip('httpx')

LOCAL = 'http://127.0.0.1'


def make_client(app):
    from fastapi.testclient import TestClient
    return TestClient(app, base_url=LOCAL, raise_server_exceptions=False)


@pytest.fixture(scope='module')
def client(served):
    from sdtr.serve import create_app
    return make_client(create_app(
        served['inferencer'], served['images_gallery'],
        served['text_gallery'], max_topk=20, max_upload_bytes=200_000))


@pytest.fixture(scope='module')
def split_client(served_split):
    from sdtr.serve import create_app
    s = served_split
    return make_client(create_app(s['inferencer'], s['images_gallery'],
                                  s['text_gallery'], max_topk=20,
                                  annotations=s['annotations']))


def png_bytes(size=24, seed=0):
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3),
                                               dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format='PNG')
    return buf.getvalue(), arr


def strings(obj):
    """Every string inside a JSON answer."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)
    elif isinstance(obj, str):
        yield obj


def assert_no_paths(answer, served):
    """No file path in an answer (URLs of the app are fine)."""
    for text in strings(answer):
        assert str(served['root']) not in text, text
        assert not osp.isabs(text) or text.startswith('/api/'), text


def test_page_and_info(client, served):
    page = client.get('/')
    assert page.status_code == 200
    for part in ('id="query"', 'id="text-topk"', 'id="image-topk"',
                 'id="image-target"', 'pushState', 'popstate'):
        assert part in page.text
    info = client.get('/api/info').json()
    assert info['image_gallery']['count'] == 12
    assert info['text_gallery']['count'] == 6
    fp = served['inferencer'].fingerprint
    assert info['fingerprint'] == dict(weights=fp['weights'],
                                       config=fp['config'])
    assert info['config'] == 'tiny_search.py' and info['annotations'] is None
    assert (info['max_topk'], info['max_upload_bytes']) == (20, 200_000)
    assert_no_paths(info, served)


def test_text_search_matches_inferencer(client, served):
    query = 'a white ship in a harbour'
    expect = served['inferencer'].search(query, topk=5)
    got = client.post('/api/search/text', json=dict(query=query, topk=5))
    assert got.status_code == 200
    answer = got.json()
    res = answer['results']
    assert [r['index'] for r in res] == [e['index'] for e in expect]
    assert [r['rank'] for r in res] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([r['score'] for r in res],
                               [e['score'] for e in expect], atol=1e-6)
    # the file relative to the gallery folder; no captions, no marks
    assert [r['item'] for r in res] == [osp.basename(e['item'])
                                        for e in expect]
    assert all(r['captions'] == [] and r['match'] is None for r in res)
    assert answer['matches'] is None and answer['kind'] == 'image'
    assert res[0]['image_url'] == f'/api/image/{res[0]["index"]}'
    assert_no_paths(answer, served)
    same = client.get('/api/search/text', params=dict(q=query, topk=5))
    assert [r['index'] for r in same.json()['results']] == \
        [r['index'] for r in res]


def test_upload_to_captions_and_to_images(client, served):
    data, arr = png_bytes(seed=3)
    inf = served['inferencer']
    got = client.post('/api/search/image', params=dict(topk=3),
                      files=dict(file=('q.png', data, 'image/png')))
    assert got.status_code == 200, got.text
    answer = got.json()
    assert answer['kind'] == 'text' and answer['query'] == dict(name='q.png')
    expect = inf.search(arr, topk=3)
    assert [r['item'] for r in answer['results']] == \
        [e['item'] for e in expect]
    assert all(r['image_url'] is None for r in answer['results'])
    # image -> image
    got = client.post('/api/search/image', params=dict(topk=4,
                                                       target='images'),
                      files=dict(file=('q.png', data, 'image/png')))
    assert got.status_code == 200, got.text
    _, rows = served['images_gallery'].search(inf.encode_image(arr), 4)
    assert [r['index'] for r in got.json()['results']] == rows[0].tolist()
    assert got.json()['kind'] == 'image'


def test_gallery_row_query(client, served):
    inf = served['inferencer']
    got = client.get('/api/search/image/3', params=dict(topk=4,
                                                        target='images'))
    assert got.status_code == 200, got.text
    res = got.json()['results']
    assert res[0]['index'] == 3 and res[0]['score'] == pytest.approx(1, 1e-5)
    answer = client.get('/api/search/image/3', params=dict(topk=3)).json()
    assert answer['query'] == dict(row=3, name='tile_03.png',
                                   image_url='/api/image/3')
    # the stored feature of the row ranks as the image file does
    expect = inf.search(served['paths'][3], topk=3)
    assert [r['item'] for r in answer['results']] == \
        [e['item'] for e in expect]
    for bad, status in (('/api/search/image/12', 404),
                        ('/api/search/image/-1', 404),
                        ('/api/search/image/x', 422)):
        got = client.get(bad)
        assert got.status_code == status, bad
        assert isinstance(got.json()['detail'], str)


def test_split_annotations_give_captions_and_marks(split_client,
                                                   served_split):
    s = served_split
    ds = s['dataset']
    answer = split_client.get('/api/search/text', params=dict(
        q=s['query'], topk=3)).json()
    res = answer['results']
    assert [r['match'] for r in res] == [r['index'] == s['true_row']
                                         for r in res]
    assert res[s['true_rank'] - 1]['index'] == s['true_row']
    assert answer['matches'] == 1
    for r in res:  # every image carries its own captions from the split
        j = s['paths'].index(s['images_gallery'].items[r['index']])
        assert r['captions'] == [ds.captions[t] for t in ds.img2txt[j]]
        assert r['item'] == osp.basename(s['paths'][j])
    # a sentence that is no caption of the split has no ground truth
    free = split_client.get('/api/search/text', params=dict(
        q='a purple elephant', topk=3)).json()
    assert free['matches'] is None
    assert all(r['match'] is None and r['captions'] for r in free['results'])
    # a gallery image: its own captions are its true matches
    row = s['true_row']
    j = s['paths'].index(s['images_gallery'].items[row])
    own = {ds.captions[t] for t in ds.img2txt[j]}
    k = len(s['text_gallery'])
    caps = split_client.get(f'/api/search/image/{row}', params=dict(
        topk=20, target='captions')).json()['results']
    assert all(r['match'] == (r['item'] in own) for r in caps)
    assert k >= 20 and len(caps) == 20
    info = split_client.get('/api/info').json()
    assert info['annotations'] == dict(name='the test split',
                                       image_covered=len(s['paths']),
                                       text_covered=k)


def test_annotations_of_another_dataset_are_refused(served, served_split):
    from sdtr.serve import create_app
    with pytest.raises(ValueError, match="test split has none of the 12 "
                       "items of the image gallery .*'tile_00.png'"):
        create_app(served['inferencer'], served['images_gallery'],
                   annotations=served_split['annotations'])


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
    (dict(query='a river', topk='many'), 422, 'topk: Input should be a '
     'valid integer'),
    (dict(query=['a', 'list'], topk=5), 422, 'query: Input should be a '
     'valid string'),
])
def test_bad_text_queries(client, body, status, words):
    got = client.post('/api/search/text', json=body)
    assert got.status_code == status
    assert words in got.json()['detail']


def test_bad_targets_and_topk_of_image_queries(client):
    data = png_bytes()[0]
    for params, words in ((dict(target='words'), "target must be one of "
                           "['images', 'captions'], got 'words'"),
                          (dict(topk=500), 'between 1 and 20, got 500')):
        got = client.post('/api/search/image', params=params,
                          files=dict(file=('q.png', data, 'image/png')))
        assert got.status_code == 422 and words in got.json()['detail']
        got = client.get('/api/search/image/0', params=params)
        assert got.status_code == 422 and words in got.json()['detail']


def test_bad_uploads(client):
    cases = [
        (('notes.txt', b'not an image at all', 'text/plain'), 415,
         'notes.txt is not an image this server reads (PNG, JPEG'),
        (('empty.png', b'', 'image/png'), 422, 'empty.png is empty'),
        (('big.png', b'\x89PNG' + b'0' * 300_000, 'image/png'), 413,
         'Content Too Large'),
        (('cut.png', png_bytes()[0][:60], 'image/png'), 415,
         'cut.png is a damaged PNG image'),
    ]
    for file, status, words in cases:
        got = client.post('/api/search/image', files=dict(file=file))
        assert got.status_code == status, (file[0], got.text)
        assert words in got.text and '_io.' not in got.text
    for extra in (dict(data=dict(file='text, not a file')),
                  dict(content=b'raw bytes', headers={
                      'content-type': 'image/png'})):
        got = client.post('/api/search/image', **extra)
        assert got.status_code == 422, got.text
        assert 'multipart form field "file"' in got.json()['detail']
    # the server still answers
    assert client.get('/api/info').status_code == 200


def test_missing_gallery_is_409(served):
    from sdtr.serve import create_app
    only_text = make_client(create_app(served['inferencer'],
                                       text_gallery=served['text_gallery']))
    got = only_text.get('/api/search/text', params=dict(q='a river'))
    assert got.status_code == 409 and '--gallery' in got.json()['detail']
    assert only_text.get('/api/image/0').status_code == 404
    got = only_text.get('/api/search/image/0')
    assert got.status_code == 409 and '--gallery' in got.json()['detail']
    with pytest.raises(ValueError, match='needs an image gallery'):
        create_app(served['inferencer'])
    with pytest.raises(ValueError,
                       match='expected an image gallery, got a text one'):
        create_app(served['inferencer'], served['text_gallery'])


def test_serve_cli_builds_app(served, served_split):
    from sdtr.tools.serve import allowed_hosts, build_app, parse_args
    s = served_split
    args = parse_args([s['config'], s['ckpt'], '--gallery',
                       s['image_index'], '--captions', s['caption_index'],
                       '--split', 'test', '--max-pixels', '1000'])
    assert args.host == '127.0.0.1'
    client = make_client(build_app(args))
    info = client.get('/api/info').json()
    assert info['image_gallery']['count'] == len(s['paths'])
    assert info['annotations']['name'] == 'the test split'
    assert info['max_pixels'] == 1000
    assert allowed_hosts(args) == ['127.0.0.1', 'localhost', '[::1]']
    assert allowed_hosts(parse_args([
        s['config'], s['ckpt'], '--gallery', 'x', '--host',
        '10.1.2.3'])) == ['127.0.0.1', 'localhost', '[::1]', '10.1.2.3']
    assert allowed_hosts(parse_args([
        s['config'], s['ckpt'], '--gallery', 'x', '--host', '0.0.0.0',
        '--allowed-hosts', 'search.example.org'])) == ['search.example.org']
    with pytest.raises(SystemExit):
        parse_args([s['config'], s['ckpt']])  # no gallery
    # a missing checkpoint is named at start
    bad = parse_args([s['config'], 'none-such.pth', '--gallery',
                      s['image_index']])
    with pytest.raises(Exception, match='none-such.pth'):
        build_app(bad)


@pytest.mark.parametrize('body,words', [
    (b'{"query": "\\ud800 planes", "topk": 5}', 'the query is not valid '
     'Unicode (surrogates not allowed at character 0)'),
    (b'{"query": "planes", "topk": "\\udc80"}', 'topk: '),
    (b'{"query": "\xed\xa0\x80 planes"}', 'not valid Unicode'),
    (b'{"query": "\xff planes"}', 'the request body is not valid UTF-8'),
    (b'{"query": "planes"', 'the request body is not valid JSON'),
])
def test_malformed_unicode_and_json_are_422(client, body, words):
    got = client.post('/api/search/text', content=body,
                      headers={'content-type': 'application/json'})
    assert got.status_code == 422, got.text
    assert words in got.json()['detail']
    # undecodable bytes in the address become U+FFFD: an ordinary query
    got = client.get('/api/search/text?q=%ED%A0%80planes&topk=2')
    assert got.status_code == 200 and got.json()['query']['text'] == \
        '\ufffd' * 3 + 'planes'


@pytest.mark.parametrize('host,status', [
    ('127.0.0.1:8000', 200), ('localhost', 200), ('LOCALHOST:80', 200),
    ('[::1]:8000', 200), ('attacker.example', 400),
    ('attacker.example:8000', 400), ('127.0.0.1.attacker.example', 400),
])
def test_trusted_hosts_against_dns_rebinding(client, host, status):
    got = client.get('/api/info', headers={'host': host})
    assert got.status_code == status
    if status == 400:
        assert got.text == 'Invalid host header'


def test_allowed_hosts_are_configurable(served):
    from sdtr.serve import create_app
    app = create_app(served['inferencer'], served['images_gallery'],
                     allowed_hosts=['search.example.org', '::1'])
    client = make_client(app)
    assert client.get('/api/info', headers={
        'host': 'search.example.org'}).status_code == 200
    assert client.get('/api/info', headers={
        'host': '[::1]:8000'}).status_code == 200
    assert client.get('/api/info').status_code == 400  # 127.0.0.1: not now
    anyone = make_client(create_app(served['inferencer'],
                                    served['images_gallery'],
                                    allowed_hosts=['*']))
    assert anyone.get('/api/info', headers={
        'host': 'whatever.example'}).status_code == 200


def test_internal_errors_name_no_path(served, monkeypatch, caplog):
    from sdtr.serve import create_app
    app = create_app(served['inferencer'], served['images_gallery'])
    secret = str(served['root'] / 'private' / 'weights.pth')

    def broken(texts):
        raise FileNotFoundError(f'{secret} is gone')
    monkeypatch.setattr(app.state.service.inferencer, 'encode_text', broken)
    got = make_client(app).get('/api/search/text', params=dict(q='a river'))
    assert got.status_code == 500
    assert got.json()['detail'] == ('internal error (FileNotFoundError); '
                                    'the server log has the details')
    assert secret in caplog.text  # ... the log has them
