"""Galleries are keyed by the content of the checkpoint and the config: a
cache is never reused for another model (issue: re-training into the same
epoch_12.pth reused stale features)."""
import hashlib
import json
import logging
import os

import pytest
import torch

from sdtr.search import RetrievalInferencer, load_gallery, save_gallery
from sdtr.search.fingerprint import (config_sha256, file_sha256,
                                   fingerprint_mismatch, state_dict_sha256)
from sdtr.search.index import SearchIndex
from test_apis.helpers import make_tiny_search_setup


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_search_setup(tmp_path_factory.mktemp('fp'),
                                  num_images=6)


def test_file_sha256_cached_by_path_size_mtime(tmp_path, monkeypatch):
    monkeypatch.setenv('SDTR_CACHE', str(tmp_path / 'cache'))
    f = tmp_path / 'w.pth'
    f.write_bytes(b'abc' * 1000)
    digest = hashlib.sha256(b'abc' * 1000).hexdigest()
    assert file_sha256(str(f)) == digest
    stored = json.loads((tmp_path / 'cache' / 'sha256.json').read_text())
    assert list(stored.values()) == [digest]
    # same size, new content and mtime: hashed again
    f.write_bytes(b'abd' * 1000)
    os.utime(f, ns=(1, 10**18))
    assert file_sha256(str(f)) == hashlib.sha256(b'abd' * 1000).hexdigest()
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        file_sha256(str(tmp_path / 'missing.pth'))


def test_config_and_state_hashes():
    a = config_sha256(dict(type='M', dim=(1, 2)), [dict(type='Resize')])
    assert a == config_sha256({'dim': [1, 2], 'type': 'M'},
                              [{'type': 'Resize'}])
    assert a != config_sha256(dict(type='M', dim=(1, 2)),
                              [dict(type='Resize', scale=224)])
    m = torch.nn.Linear(2, 2)
    h = state_dict_sha256(m)
    with torch.no_grad():
        m.weight[0, 0] += 1
    assert state_dict_sha256(m) != h
    fp = dict(weights='file:' + 'a' * 64, config='b' * 64, model='X')
    assert fingerprint_mismatch(fp, dict(fp)) is None
    msg = fingerprint_mismatch(None, fp)
    assert 'no fingerprint' in msg and 'aaaaaaaaaaaaaaaa' in msg


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_retrained_checkpoint_rebuilds_cache(setup, tmp_path):
    ckpt = tmp_path / 'epoch_12.pth'
    ckpt.write_bytes(open(setup['ckpt'], 'rb').read())
    cache = str(tmp_path / 'gallery.safetensors')
    inf = RetrievalInferencer(setup['config'], checkpoint=str(ckpt))
    first = inf.build_gallery(setup['images'], cache=cache)
    assert first.fingerprint['weights'] == 'file:' + hashlib.sha256(
        ckpt.read_bytes()).hexdigest()
    # "re-train" into the same file: other weights, same path
    state = torch.load(ckpt, weights_only=True)['state_dict']
    state = {k: v + 0.05 if v.is_floating_point() else v
             for k, v in state.items()}
    torch.save(dict(state_dict=state), ckpt)
    inf2 = RetrievalInferencer(setup['config'], checkpoint=str(ckpt))
    from mmengine.logging import MMLogger
    logger, records = MMLogger.get_current_instance(), _Records()
    logger.addHandler(records)
    try:
        second = inf2.build_gallery(setup['images'], cache=cache)
    finally:
        logger.removeHandler(records)
    log = '\n'.join(records.lines)
    assert 'built by another model (weights differ)' in log, log
    old, new = (d.split(':')[1][:16] for d in (first.fingerprint['weights'],
                                                 inf2.fingerprint['weights']))
    assert old in log and new in log and 'rebuilding it' in log
    assert not torch.allclose(first.features, second.features, atol=1e-3)
    torch.testing.assert_close(
        second.features, inf2.encode_image(setup['paths']))
    assert load_gallery(cache).fingerprint == inf2.fingerprint
    # the unchanged model reuses it without encoding
    inf2.encode_image = None
    assert inf2.build_gallery(setup['images'], cache=cache) is not None


def test_gallery_of_another_model_is_refused(setup, tmp_path):
    inf = RetrievalInferencer(setup['config'], checkpoint=setup['ckpt'])
    other = RetrievalInferencer(setup['config'])  # in-memory weights
    torch.manual_seed(1)
    for p in other.model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    other._fingerprint = None
    path = str(tmp_path / 'other.safetensors')
    other.build_gallery(setup['images'], cache=path)
    with pytest.raises(ValueError) as err:
        inf.build_gallery(path)
    msg = str(err.value)
    ours = inf.fingerprint['weights'].split(':')[1][:16]
    theirs = other.fingerprint['weights'].split(':')[1][:16]
    assert 'built by another model' in msg and ours in msg and theirs in msg
    assert 'in-memory weights' in msg and 'checkpoint sha256' in msg
    # the explicit way round
    g = inf.build_gallery(path, check_fingerprint=False)
    assert len(g) == 6
    # a gallery written without a fingerprint (older sdtr) is refused too
    old = load_gallery(path)
    old.info.pop('fingerprint')
    save_gallery(old, path)
    with pytest.raises(ValueError, match='no fingerprint'):
        inf.build_gallery(path)


def test_index_cache_and_refusal(setup, tmp_path):
    inf = RetrievalInferencer(setup['config'], checkpoint=setup['ckpt'])
    folder = str(tmp_path / 'idx')
    g = inf.build_gallery(setup['images'], cache=folder)
    assert isinstance(g, SearchIndex) and len(g) == 6
    res = inf.search('a river', topk=3)
    exact = RetrievalInferencer(setup['config'], checkpoint=setup['ckpt'])
    exact.build_gallery(setup['images'])
    assert [r['item'] for r in res] == \
        [r['item'] for r in exact.search('a river', topk=3)]
    other = RetrievalInferencer(setup['config'])
    with pytest.raises(ValueError, match='weights differ'):
        other.build_gallery(folder)
