"""End to end, as a person uses it: start ``tools/serve.py`` on 127.0.0.1
with the indexes of a test split and its annotations (``--split test``),
open the page in headless Chromium and search: type a caption and see the
ranked images with their captions and the true match marked; upload an
image and see it beside its results; click a result to search with it; go
back; load a search from its address; ask for too many results.

``SDTR_SCREENSHOT=docs/images/search_page.png`` saves the page of the first
test (the picture in ``docs/inference.md``).

Needs Debian's ``chromium`` and ``chromium-driver`` and the ``selenium``
package (``.ci/run`` installs them); skips cleanly without them."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
DRIVER = shutil.which('chromedriver')
MAX_TOPK = 20

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason='headless browser test: needs chromium and chromedriver (Debian: '
    'apt-get install chromium chromium-driver)')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get_json(url):
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.load(resp)


@pytest.fixture(scope='module')
def server(served_split):
    pytest.importorskip('uvicorn')
    s = served_split
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in [os.environ.get('PYTHONPATH')] if p]),
        OMP_NUM_THREADS='1')
    log = open(s['root'] / 'serve.log', 'w')
    proc = subprocess.Popen(
        [sys.executable, 'tools/serve.py', s['config'], s['ckpt'],
         '--gallery', s['image_index'], '--captions', s['caption_index'],
         '--split', 'test', '--max-topk', str(MAX_TOPK), '--port',
         str(port)],
        cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError('the server exited: ' + (
                    s['root'] / 'serve.log').read_text())
            try:
                get_json(base + '/api/info')
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope='module')
def browser():
    webdriver = pytest.importorskip('selenium.webdriver')
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix='sdtr-chromium-')
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ('--headless', '--no-sandbox', '--disable-gpu',
                 '--disable-quic', '--no-first-run',
                 '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage', '--window-size=1280,720',
                 '--hide-scrollbars', f'--user-data-dir={profile}'):
        opts.add_argument(flag)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=DRIVER),
                                  options=opts)
    except Exception as err:  # noqa: BLE001 - a broken browser install
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f'chromium did not start: {err}')
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait_for(fn, timeout=60):
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.time() > deadline:
            raise TimeoutError('the page did not get there in time')
        time.sleep(0.1)


def by_id(browser, name):
    from selenium.webdriver.common.by import By
    return browser.find_element(By.ID, name)


def open_page(browser, url):
    from selenium.webdriver.common.by import By
    browser.get(url)
    wait_for(lambda: browser.find_element(By.TAG_NAME, 'body')
             .get_attribute('data-ready') == '1')


def settled(browser):
    """How many searches the page has shown or refused."""
    from selenium.webdriver.common.by import By
    return int(browser.find_element(By.TAG_NAME, 'body').get_attribute(
        'data-settled') or 0)


def results(browser, before):
    """``(rank, index, match, name, first caption)`` of the shown results,
    once the page has settled more searches than ``before``."""
    from selenium.webdriver.common.by import By
    wait_for(lambda: settled(browser) > before)
    shown = []
    for li in browser.find_elements(By.CSS_SELECTOR, '#results li.result'):
        caps = li.find_elements(By.CLASS_NAME, 'caption')
        shown.append((int(li.get_attribute('data-rank')),
                      int(li.get_attribute('data-index')),
                      li.get_attribute('data-match'),
                      li.find_element(By.CLASS_NAME, 'name').text,
                      caps[0].text if caps else None))
    return shown


def act(browser, action):
    """The results after ``action()`` (a click, back, ...)."""
    before = settled(browser)
    action()
    return results(browser, before)


def fill(browser, name, value):
    box = by_id(browser, name)
    box.clear()
    box.send_keys(str(value))


def marks(answer):
    return ['' if r['match'] is None else str(r['match']).lower()
            for r in answer['results']]


def text_search(browser, query, k):
    fill(browser, 'query', query)
    fill(browser, 'text-topk', k)
    return act(browser, by_id(browser, 'search-btn').click)


def test_type_query_see_ranked_images_captions_marks(server, browser,
                                                     served_split):
    from selenium.webdriver.common.by import By
    s = served_split
    open_page(browser, server + '/')
    info = by_id(browser, 'info').text
    assert f'{len(s["paths"])} images' in info and 'test split' in info
    assert 'top-k at most 20' in by_id(browser, 'text-limit').text
    shown = text_search(browser, s['query'], 5)
    api = get_json(server + '/api/search/text?' + urllib.parse.urlencode(
        dict(q=s['query'], topk=5)))
    assert [x[0] for x in shown] == [1, 2, 3, 4, 5]
    assert [x[1] for x in shown] == [r['index'] for r in api['results']]
    assert [x[3] for x in shown] == [r['item'] for r in api['results']]
    # the captions of the split under every image, the true one marked
    assert [x[4] for x in shown] == [r['captions'][0]
                                     for r in api['results']]
    assert [x[2] for x in shown] == marks(api)
    assert shown[s['true_rank'] - 1][1:3] == (s['true_row'], 'true')
    assert sum(x[2] == 'true' for x in shown) == 1
    assert '1 true match' in by_id(browser, 'status').text
    assert s['query'] in by_id(browser, 'query-view').text
    # the query is in the address
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(
        browser.current_url).query)
    assert params == dict(mode=['text'], q=[s['query']], k=['5'])
    # every thumbnail is loaded (served by the app from the gallery)
    items = browser.find_elements(By.CSS_SELECTOR, '#results li.result')
    wait_for(lambda: all(browser.execute_script(
        'return arguments[0].complete && arguments[0].naturalWidth > 0',
        li.find_element(By.TAG_NAME, 'img')) for li in items))
    if os.environ.get('SDTR_SCREENSHOT'):
        browser.save_screenshot(os.environ['SDTR_SCREENSHOT'])


def test_upload_shows_image_and_results(server, browser, served_split):
    s = served_split
    row = s['true_row']
    upload = s['root'] / 'my query.png'  # a gallery image under a new name
    shutil.copy(s['images_gallery'].items[row], upload)
    open_page(browser, server + '/')
    by_id(browser, 'image').send_keys(str(upload))
    fill(browser, 'image-topk', 4)
    shown = act(browser, by_id(browser, 'upload-btn').click)
    expect = s['inferencer'].search(str(upload), topk=4)
    assert [x[3] for x in shown] == [e['item'] for e in expect]
    assert all(x[2] == '' for x in shown)  # an upload has no ground truth
    img = by_id(browser, 'query-image')
    assert img.get_attribute('src').startswith('blob:')
    wait_for(lambda: browser.execute_script(
        'return arguments[0].complete && arguments[0].naturalWidth > 0', img))
    assert 'my query.png' in by_id(browser, 'query-view').text
    # image -> images: the image itself comes first
    target = by_id(browser, 'image-target')
    target.find_element('css selector', 'option[value=images]').click()
    shown = act(browser, by_id(browser, 'upload-btn').click)
    assert shown[0][1] == row and len(shown) == 4


def test_click_result_then_back_and_forward(server, browser, served_split):
    from selenium.webdriver.common.by import By
    s = served_split
    open_page(browser, server + '/')
    by_id(browser, 'image-target').find_element(
        By.CSS_SELECTOR, 'option[value=captions]').click()
    fill(browser, 'image-topk', 6)
    first = text_search(browser, s['query'], 5)
    # click the true image: its captions, the split's own marked true
    caps = act(browser, browser.find_elements(
        By.CSS_SELECTOR, '#results li.result')[s['true_rank'] - 1].click)
    api = get_json(f'{server}/api/search/image/{s["true_row"]}?topk=6'
                   '&target=captions')
    assert [x[3] for x in caps] == [r['item'] for r in api['results']]
    assert [x[2] for x in caps] == marks(api)
    assert f'gallery image #{s["true_row"]}' in by_id(
        browser, 'query-view').text
    assert 'mode=row' in browser.current_url
    assert f'row={s["true_row"]}' in browser.current_url
    # click a caption: a text search with it
    third = act(browser, browser.find_elements(
        By.CSS_SELECTOR, '#results li.result')[0].click)
    assert by_id(browser, 'query').get_attribute('value') == caps[0][3]
    assert len(third) == 5 and 'mode=text' in browser.current_url
    # back twice: the captions, then the first query, as they were
    assert act(browser, browser.back) == caps
    assert act(browser, browser.back) == first
    assert by_id(browser, 'query').get_attribute('value') == s['query']
    assert act(browser, browser.forward) == caps


def test_address_loads_a_search(server, browser, served_split):
    s = served_split
    query = urllib.parse.urlencode(dict(mode='text', q=s['query'], k=3))
    open_page(browser, f'{server}/?{query}')
    shown = results(browser, 0)
    assert [x[0] for x in shown] == [1, 2, 3]
    assert by_id(browser, 'query').get_attribute('value') == s['query']
    assert by_id(browser, 'text-topk').get_attribute('value') == '3'
    open_page(browser, f'{server}/?mode=row&row=2&target=images&k=4')
    shown = results(browser, 0)
    assert shown[0][1] == 2 and len(shown) == 4


def test_over_limit_topk_and_bad_input_show_messages(server, browser,
                                                     served_split):
    from selenium.webdriver.common.by import By
    s = served_split
    open_page(browser, server + '/')
    text_search(browser, s['query'], 5)
    old = by_id(browser, 'status').text
    assert old.startswith('5 images in')
    shown = text_search(browser, s['query'], 500)
    status = by_id(browser, 'status')
    assert status.text == f'topk must be between 1 and {MAX_TOPK}, got 500'
    assert 'error' in status.get_attribute('class') and shown == []
    assert by_id(browser, 'query-view').text == ''
    # a query over 1000 characters
    text_search(browser, 'x' * 1200, 5)
    assert 'at most 1000' in by_id(browser, 'status').text
    assert not browser.find_elements(By.CSS_SELECTOR, '#results li')
    # an upload that is no image: its name and what is wrong, no repr
    bad = s['root'] / 'notes.png'
    bad.write_text('not an image')
    by_id(browser, 'image').send_keys(str(bad))
    fill(browser, 'image-topk', 3)
    assert act(browser, by_id(browser, 'upload-btn').click) == []
    assert by_id(browser, 'status').text.startswith(
        'notes.png is not an image this server reads (PNG, JPEG')
    # the server is still up
    assert get_json(server + '/api/info')['image_gallery']['count'] == \
        len(s['paths'])
