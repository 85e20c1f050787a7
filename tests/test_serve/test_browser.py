"""End to end, as a person uses it: start ``tools/serve.py`` on 127.0.0.1,
open the page in headless Chromium, type a query, press Search and check
that the ranked images appear in the order of the JSON API (and of
``RetrievalInferencer.search``), with their thumbnails loaded.

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
def server(served):
    pytest.importorskip('uvicorn')
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in [os.environ.get('PYTHONPATH')] if p]),
        OMP_NUM_THREADS='1')
    log = open(served['root'] / 'serve.log', 'w')
    proc = subprocess.Popen(
        [sys.executable, 'tools/serve.py', served['config'], served['ckpt'],
         '--gallery', served['image_index'], '--captions',
         served['caption_index'], '--port', str(port)],
        cwd=str(REPO), env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError('the server exited: ' + (
                    served['root'] / 'serve.log').read_text())
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
                 '--disable-dev-shm-usage', '--window-size=1400,1000',
                 f'--user-data-dir={profile}'):
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
        time.sleep(0.2)


def test_type_query_see_ranked_images(server, browser, served):
    from selenium.webdriver.common.by import By
    browser.get(server + '/')
    wait_for(lambda: browser.find_element(By.TAG_NAME, 'body')
             .get_attribute('data-ready') == '1')
    assert '12 images' in browser.find_element(By.ID, 'info').text
    query = 'many planes are parked next to a terminal'
    box = browser.find_element(By.ID, 'query')
    box.clear()
    box.send_keys(query)
    topk = browser.find_element(By.ID, 'topk')
    topk.clear()
    topk.send_keys('5')
    browser.find_element(By.ID, 'search-btn').click()
    items = wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, '#results li.result'))
    shown = [(int(li.get_attribute('data-rank')),
              int(li.get_attribute('data-index')),
              li.find_element(By.CLASS_NAME, 'name').text) for li in items]
    api = get_json(server + '/api/search/text?' + urllib.parse.urlencode(
        dict(q=query, topk=5)))['results']
    assert [s[0] for s in shown] == [1, 2, 3, 4, 5]
    assert [s[1] for s in shown] == [r['index'] for r in api]
    assert [s[2] for s in shown] == [r['name'] for r in api]
    expect = served['inferencer'].search(query, topk=5)
    assert [s[2] for s in shown] == [os.path.basename(e['item'])
                                     for e in expect]
    # every thumbnail is loaded (served by the app from the gallery)
    wait_for(lambda: all(browser.execute_script(
        'return arguments[0].complete && arguments[0].naturalWidth > 0',
        li.find_element(By.TAG_NAME, 'img')) for li in items))
    if os.environ.get('SDTR_SCREENSHOT'):
        browser.save_screenshot(os.environ['SDTR_SCREENSHOT'])


def test_bad_query_shows_message(server, browser):
    from selenium.webdriver.common.by import By
    browser.get(server + '/')
    wait_for(lambda: browser.find_element(By.TAG_NAME, 'body')
             .get_attribute('data-ready') == '1')
    box = browser.find_element(By.ID, 'query')
    box.send_keys('x' * 1200)
    browser.find_element(By.ID, 'search-btn').click()
    status = browser.find_element(By.ID, 'status')
    wait_for(lambda: 'at most 1000' in status.text)
    assert 'error' in status.get_attribute('class')
    assert not browser.find_elements(By.CSS_SELECTOR, '#results li')
    # the server is still up
    assert get_json(server + '/api/info')['image_gallery']['count'] == 12
