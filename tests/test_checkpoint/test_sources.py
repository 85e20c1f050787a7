"""Where weights come from (sdtr.checkpoint.sources).

``openclip:<arch>/<tag>``: open_clip's registry, the hub first, the URL as
fallback, the SHA-256 checked whichever source served the file, and an
offline folder.  URLs: a cache keyed by the whole URL and the expected hash.
Nothing touches the network: the hub download of open_clip is replaced by a
fake, URLs are served on 127.0.0.1."""
import hashlib
import http.server
import threading

import open_clip
import open_clip.pretrained as oc_pretrained
import pytest
import torch
from safetensors.torch import save_file

from sdtr.checkpoint import ChecksumError
from sdtr.checkpoint import read_state_dict as load_clip_state_dict
from sdtr.checkpoint.sources import (PINNED_HF_FILES, pretrained_sources,
                                     resolve_pretrained)
from sdtr.models.backbones import CLIPVisionTransformer

VISION = dict(arch=None, image_size=32, patch_size=8, width=64, layers=2,
              heads=1, embed_dim=32)
ARCH, TAG = 'ViT-T-test', 'openai'
NAME = f'openclip:{ARCH}/{TAG}'
REPO = 'example/vit_tiny_clip.openai'
REVISION = 'a' * 40


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def weights(tmp_path):
    """Two different tiny image-tower checkpoints: the hub's safetensors
    copy and the URL's .pt file."""
    torch.manual_seed(0)
    hub_sd = {f'visual.{k}': v.contiguous() for k, v in
              CLIPVisionTransformer(**VISION).state_dict().items()}
    url_sd = {k: torch.randn_like(v) for k, v in hub_sd.items()}
    hub_file = tmp_path / 'hub_src' / 'open_clip_model.safetensors'
    hub_file.parent.mkdir()
    save_file(hub_sd, str(hub_file))
    url_dir = tmp_path / 'www'
    url_dir.mkdir()
    url_file = url_dir / 'ViT-T.pt'
    torch.save(url_sd, url_file)
    return dict(hub_sd=hub_sd, url_sd=url_sd, hub_file=hub_file,
                url_file=url_file, url_dir=url_dir)


@pytest.fixture
def server(weights):
    """A static HTTP server on 127.0.0.1 serving ``weights['url_dir']``."""
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(weights['url_dir']),
                             **kwargs)

        def translate_path(self, path):
            requests.append(path)
            # /clip/models/<sha256>/ViT-T.pt -> ViT-T.pt (OpenAI's layout)
            return super().translate_path('/' + path.rsplit('/', 1)[-1])

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever,
                              kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    yield dict(base=f'http://127.0.0.1:{httpd.server_port}',
               requests=requests)
    httpd.shutdown()


@pytest.fixture
def registry(weights, server, tmp_path, monkeypatch):
    """Register ViT-T-test/openai in open_clip's registry (hub repo + URL)
    with its pinned hub file, and a fake hub serving the safetensors."""
    url = (f'{server["base"]}/clip/models/{_sha(weights["url_file"])}/'
           'ViT-T.pt')
    monkeypatch.setitem(oc_pretrained._PRETRAINED, ARCH, {
        TAG: oc_pretrained._pcfg(url=url, hf_hub=f'{REPO}/')})
    monkeypatch.setitem(PINNED_HF_FILES, (ARCH, TAG), dict(
        repo=REPO, revision=REVISION, filename='open_clip_model.safetensors',
        sha256=_sha(weights['hub_file'])))
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'torchhub'))
    monkeypatch.delenv('SDTR_OFFLINE_DIR', raising=False)
    hub = dict(calls=[], fail=None, file=weights['hub_file'])

    def fake_hf_hub_download(repo_id, filename, revision=None,
                             cache_dir=None, **kwargs):
        hub['calls'].append((repo_id, filename, revision))
        if hub['fail']:
            raise OSError(hub['fail'])
        if repo_id != REPO or filename != 'open_clip_model.safetensors':
            raise OSError(f'404 {repo_id}/{filename}')
        return str(hub['file'])

    # open_clip's own download_pretrained_from_hf runs; only the network
    # call under it (huggingface_hub.hf_hub_download) is replaced
    monkeypatch.setattr(oc_pretrained, 'hf_hub_download',
                        fake_hf_hub_download)
    return dict(url=url, hub=hub)


def _equal(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_real_registry_entries_of_the_configs():
    """sdtr's configs use these names; open_clip lists a hub repo (the
    pinned one) and OpenAI's URL for each, and every source has a hash."""
    for (arch, tag), pin in PINNED_HF_FILES.items():
        cfg = open_clip.get_pretrained_cfg(arch, tag)
        assert cfg['hf_hub'].rstrip('/') == pin['repo']
        assert 'openaipublic' in cfg['url']
        assert len(pin['sha256']) == 64 and len(pin['revision']) == 40
        kinds = [(kind, expected) for kind, _, expected, _, _ in
                 pretrained_sources(f'openclip:{arch}/{tag}')]
        assert kinds[0] == ('hf', pin['sha256'])
        # the URL's hash is the SHA-256 folder of OpenAI's URL
        assert kinds[1] == ('url', cfg['url'].split('/')[-2])


def test_hub_first(registry, weights, server):
    sd = load_clip_state_dict(NAME)
    assert _equal(sd, weights['hub_sd'])
    assert registry['hub']['calls'] == [
        (REPO, 'open_clip_model.safetensors', REVISION)]
    assert server['requests'] == []  # the URL was not needed


def test_hub_fails_then_url(registry, weights, server, tmp_path):
    registry['hub']['fail'] = 'connection refused'
    sd = load_clip_state_dict(NAME)
    assert _equal(sd, weights['url_sd'])
    assert len(server['requests']) == 1
    cached = list((tmp_path / 'torchhub' / 'checkpoints').iterdir())
    assert len(cached) == 1 and cached[0].name.endswith('-ViT-T.pt')
    # second time: from torch.hub's cache, no new request
    assert _equal(load_clip_state_dict(NAME), weights['url_sd'])
    assert len(server['requests']) == 1


def test_both_sources_fail(registry, weights):
    registry['hub']['fail'] = 'connection refused'
    weights['url_file'].unlink()  # the URL answers 404
    with pytest.raises(RuntimeError) as err:
        resolve_pretrained(NAME)
    msg = str(err.value)
    assert 'connection refused' in msg and '404' in msg
    assert 'SDTR_OFFLINE_DIR' in msg


def test_hub_hash_mismatch_names_source_and_both_hashes(registry, weights):
    bad = weights['hub_file'].parent / 'tampered.safetensors'
    save_file({k: v + 1 for k, v in weights['hub_sd'].items()}, str(bad))
    registry['hub']['file'] = bad
    with pytest.raises(ChecksumError) as err:
        load_clip_state_dict(NAME)
    msg = str(err.value)
    assert f'{REPO}@{REVISION}' in msg and 'hf source' in msg
    assert _sha(bad) in msg and _sha(weights['hub_file']) in msg
    assert str(bad) in msg


def test_url_hash_mismatch_is_an_error_and_leaves_no_cache(
        registry, weights, tmp_path):
    registry['hub']['fail'] = 'offline'
    good = _sha(weights['url_file'])
    torch.save({'x': torch.ones(3)}, weights['url_file'])  # other bytes
    with pytest.raises(ChecksumError) as err:
        resolve_pretrained(NAME)
    msg = str(err.value)
    assert 'url source' in msg and registry['url'] in msg
    assert good in msg and _sha(weights['url_file']) in msg
    assert not list((tmp_path / 'torchhub' / 'checkpoints').iterdir())


def test_offline_folder(registry, weights, server, tmp_path, monkeypatch):
    folder = tmp_path / 'offline'
    monkeypatch.setenv('SDTR_OFFLINE_DIR', str(folder))
    with pytest.raises(FileNotFoundError) as err:
        resolve_pretrained(NAME)
    assert f'{REPO}/open_clip_model.safetensors' in str(err.value)
    assert 'ViT-T.pt' in str(err.value)
    # OpenAI's file name in the folder
    folder.mkdir()
    (folder / 'ViT-T.pt').write_bytes(weights['url_file'].read_bytes())
    assert _equal(load_clip_state_dict(NAME), weights['url_sd'])
    # the hub layout is preferred when both are there
    (folder / REPO).mkdir(parents=True)
    (folder / REPO / 'open_clip_model.safetensors').write_bytes(
        weights['hub_file'].read_bytes())
    assert _equal(load_clip_state_dict(NAME), weights['hub_sd'])
    # a wrong offline file is refused too
    (folder / REPO / 'open_clip_model.safetensors').write_bytes(b'junk')
    with pytest.raises(ChecksumError, match='offline|hf source'):
        resolve_pretrained(NAME)
    assert registry['hub']['calls'] == [] and server['requests'] == []


def test_tower_init_weights_from_a_registry_name(registry, weights):
    vis = CLIPVisionTransformer(**VISION, pretrained=dict(checkpoint=NAME))
    vis.init_weights()
    assert torch.equal(vis.conv1.weight,
                       weights['hub_sd']['visual.conv1.weight'])


def test_unknown_names_and_unpinned_tags(registry, monkeypatch):
    with pytest.raises(KeyError, match="its tags: openai"):
        resolve_pretrained(f'openclip:{ARCH}/laion')
    with pytest.raises(ValueError, match='expected openclip:'):
        resolve_pretrained('openclip:ViT-B-16')
    # a registry entry without a pinned hub hash is refused before any
    # download unless the caller gives the hash
    monkeypatch.delitem(PINNED_HF_FILES, (ARCH, TAG))
    with pytest.raises(ValueError, match='no SHA-256'):
        resolve_pretrained(NAME)
    assert registry['hub']['calls'] == []
    sources = pretrained_sources(NAME, sha256='ab' * 32)
    assert [s[2] for s in sources] == ['ab' * 32] * 2
    assert sources[0][1] == f'{REPO}/'  # open_clip's default file


@pytest.fixture
def two_hosts(tmp_path, monkeypatch):
    """``/a/model.pth`` and ``/b/model.pth`` on 127.0.0.1: same file name,
    different weights."""
    www = tmp_path / 'www'
    for i, folder in enumerate('ab'):
        (www / folder).mkdir(parents=True)
        torch.save({'w': torch.full((3, ), float(i))},
                   www / folder / 'model.pth')

    class Quiet(http.server.SimpleHTTPRequestHandler):

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(www), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    monkeypatch.delenv('SDTR_OFFLINE_DIR', raising=False)
    yield www, f'http://127.0.0.1:{httpd.server_port}'
    httpd.shutdown()


def test_url_cache_is_keyed_by_the_whole_url(two_hosts, tmp_path):
    www, base = two_hosts
    for _ in range(2):  # downloaded, then from the cache
        assert read_state_dict_url(f'{base}/a/model.pth') == 0.0
        assert read_state_dict_url(f'{base}/b/model.pth') == 1.0
    assert len(list((tmp_path / 'hub' / 'checkpoints').iterdir())) == 2


def read_state_dict_url(url, **options):
    return float(load_clip_state_dict(url, **options)['w'][0])


def test_cached_file_with_the_wrong_hash_is_fetched_again(two_hosts,
                                                          tmp_path):
    www, base = two_hosts
    url, sha = f'{base}/a/model.pth', _sha(www / 'a' / 'model.pth')
    assert read_state_dict_url(url, sha256=sha) == 0.0
    (cached, ) = (tmp_path / 'hub' / 'checkpoints').iterdir()
    torch.save({'w': torch.full((3, ), 9.0)}, cached)  # changed on disk
    assert read_state_dict_url(url, sha256=sha) == 0.0  # fetched again
    assert _sha(cached) == sha
    # a server answering other bytes than the expected hash: refused,
    # nothing left in the cache under that key
    with pytest.raises(ChecksumError, match='hash'):
        read_state_dict_url(f'{base}/b/model.pth', sha256=sha)
    names = [p.name for p in (tmp_path / 'hub' / 'checkpoints').iterdir()]
    assert len(names) == 1 and names[0] == cached.name
