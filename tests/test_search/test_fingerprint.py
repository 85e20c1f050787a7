"""Galleries are stamped with the identity of the weights the model holds
(the digest its loader recorded, else a hash of the in-memory weights),
never with whatever file sits at the checkpoint path later, and a cache is
never reused for another model (issue: re-training into the same
epoch_12.pth reused stale features; loading A, replacing the file with B
and building a cache stamped A's features as B's)."""
import logging
import os
import shutil

import numpy as np
import pytest
import torch

from sdtr.apis import get_model
from sdtr.checkpoint import record_weights_identity, weights_identity
from sdtr.search import RetrievalInferencer, load_gallery, save_gallery
from sdtr.search.fingerprint import config_sha256, fingerprint_mismatch
from sdtr.search.index import SearchIndex
from sdtr.utils.errors import SdtrError
from test_apis.helpers import make_tiny_search_setup


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_search_setup(tmp_path_factory.mktemp('fp'),
                                  num_images=6)


def other_weights(src, dst):
    """A checkpoint with other weights (a "re-trained" model) at ``dst``."""
    state = torch.load(src, weights_only=True)['state_dict']
    state = {k: v + 0.05 if v.is_floating_point() else v
             for k, v in state.items()}
    torch.save(dict(state_dict=state), dst)


def test_config_hash_and_messages():
    a = config_sha256(dict(type='M', dim=(1, 2)), [dict(type='Resize')])
    assert a == config_sha256({'dim': [1, 2], 'type': 'M'},
                              [{'type': 'Resize'}])
    assert a != config_sha256(dict(type='M', dim=(1, 2)),
                              [dict(type='Resize', scale=224)])
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
    shutil.copy(setup['ckpt'], ckpt)
    cache = str(tmp_path / 'gallery.safetensors')
    inf = RetrievalInferencer(setup['config'], checkpoint=str(ckpt))
    first = inf.build_gallery(setup['images'], cache=cache)
    assert first.fingerprint['weights'] == weights_identity(inf.model)
    other_weights(ckpt, ckpt)  # "re-train" into the same file
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


@pytest.mark.parametrize('cache_name', ['gallery.safetensors', 'idx'])
def test_file_replaced_after_loading(setup, tmp_path, cache_name):
    """Load A, replace the file with B, build a cache: it holds A's
    features stamped as A; a later run with B rebuilds it (a cache) or
    refuses it (a gallery given as such), never accepting A's features."""
    ckpt, cache = tmp_path / 'model.pth', str(tmp_path / cache_name)
    shutil.copy(setup['ckpt'], ckpt)
    inf_a = RetrievalInferencer(setup['config'], checkpoint=str(ckpt))
    other_weights(setup['ckpt'], ckpt)  # the file is now B
    stamped = inf_a.build_gallery(setup['images'], cache=cache)
    assert stamped.fingerprint['weights'] == weights_identity(inf_a.model)
    inf_b = RetrievalInferencer(setup['config'], checkpoint=str(ckpt))
    assert inf_b.fingerprint['weights'] != inf_a.fingerprint['weights']
    with pytest.raises(SdtrError, match='weights differ'):
        inf_b.build_gallery(cache)  # the cache as the gallery itself
    rebuilt = inf_b.build_gallery(setup['images'], cache=cache)
    feats_b = inf_b.encode_image(setup['paths'])
    got = rebuilt.features if cache_name.endswith('.safetensors') else \
        torch.from_numpy(np.array(rebuilt.vectors))
    torch.testing.assert_close(got, feats_b)


def test_stamp_is_the_identity_the_loader_recorded(setup, tmp_path):
    """The loader's record (sdtr.checkpoint.record_weights_identity) is the
    stamp; no file is read for it: deleting the checkpoint after loading
    changes nothing."""
    ckpt = tmp_path / 'a.pth'
    shutil.copy(setup['ckpt'], ckpt)
    model = get_model(setup['config'], pretrained=str(ckpt))
    record_weights_identity(model, 'a' * 64)
    os.remove(ckpt)
    inf = RetrievalInferencer(model)
    assert inf.fingerprint['weights'] == 'file:' + 'a' * 64
    path = str(tmp_path / 'g.safetensors')
    inf.build_gallery(setup['images'], cache=path)
    same = get_model(setup['config'], pretrained=setup['ckpt'])
    record_weights_identity(same, 'b' * 64)  # other bytes were loaded
    with pytest.raises(SdtrError, match='weights differ.*aaaaaaaa.*bbbbbb'):
        RetrievalInferencer(same).build_gallery(path)


def test_gallery_of_another_model_is_refused(setup, tmp_path):
    inf = RetrievalInferencer(setup['config'], checkpoint=setup['ckpt'])
    other = RetrievalInferencer(setup['config'])  # in-memory weights
    torch.manual_seed(1)
    for p in other.model.parameters():
        torch.nn.init.normal_(p, std=0.02)
    other._fingerprint = None
    path = str(tmp_path / 'other.safetensors')
    other.build_gallery(setup['images'], cache=path)
    with pytest.raises(SdtrError) as err:
        inf.build_gallery(path)
    msg = str(err.value)
    ours = inf.fingerprint['weights'].split(':')[1][:16]
    theirs = other.fingerprint['weights'].split(':')[1][:16]
    assert 'built by another model' in msg and ours in msg and theirs in msg
    assert 'in-memory weights' in msg
    # the explicit way round
    g = inf.build_gallery(path, check_fingerprint=False)
    assert len(g) == 6
    # a gallery written without a fingerprint (older sdtr) is refused too
    old = load_gallery(path)
    old.info.pop('fingerprint')
    save_gallery(old, path)
    with pytest.raises(SdtrError, match='no fingerprint'):
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
    with pytest.raises(SdtrError, match='weights differ'):
        other.build_gallery(folder)
