"""list_models / get_model on a local index: filters, offline round trip of
a published checkpoint, hash check, unpublished weights."""
import os
import shutil
from pathlib import Path

import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from sdtr.apis import (ChecksumError, ModelZooError, get_model, list_models,
                       load_model_index)
from sdtr.models.utils import CheckpointMismatchError
from .helpers import REPO, TINY_RS, load_tool

URL_DIR = 'https://example.invalid/sdtr/v0/'


@pytest.fixture(autouse=True)
def _never_download(tmp_path, monkeypatch):
    """Offline mode with an empty folder unless a test sets another one:
    a URL can never reach the network from these tests."""
    empty = tmp_path / 'empty-offline-dir'
    empty.mkdir()
    monkeypatch.setenv('SDTR_OFFLINE_DIR', str(empty))


@pytest.fixture(scope='module')
def zoo(tmp_path_factory):
    """A tiny model, its published checkpoint and an index naming it."""
    root = tmp_path_factory.mktemp('zoo')
    (root / 'tiny_rs.py').write_text(f'_base_ = [{str(TINY_RS)!r}]\n')
    torch.manual_seed(0)
    model = get_model(str(root / 'tiny_rs.py'))
    # a checkpoint as the Runner writes it (training state included)
    hub = MessageHub.get_instance('zoo-test')
    hub.update_scalar('train/loss', 1.0)
    raw = dict(meta=dict(epoch=3, iter=30, seed=0, cfg='cfg text',
                         hook_msgs=dict(last_ckpt='x')),
               state_dict=model.state_dict(),
               optimizer=dict(state={}, param_groups=[dict(lr=1e-3)]),
               param_schedulers=[dict(last_epoch=3)],
               message_hub=hub.state_dict())
    assert isinstance(raw['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    torch.save(raw, root / 'epoch_3.pth')
    publish = load_tool('tools/model_converters/publish_model.py')
    pub_dir = root / 'published'
    final = publish.publish(str(root / 'epoch_3.pth'),
                            str(pub_dir / 'tiny_rs.pth'), date='20250101')
    name = os.path.basename(final)
    import hashlib
    sha = hashlib.sha256(Path(final).read_bytes()).hexdigest()
    # same first 8 hex digits, different digest: caught only by a full check
    near = sha[:8] + ('0' if sha[8] != '0' else '1') + sha[9:]
    def entry(model_name, task, dataset, metrics, weights, sha256=None):
        text = (f'  - Name: {model_name}\n    In Collection: TinyCLIP\n'
                '    Config: tiny_rs.py\n    Results:\n'
                f'      - Task: {task}\n        Dataset: {dataset}\n'
                f'        Metrics: {metrics}\n'
                '        Source: ours, test fixture\n'
                f'    Weights: {weights}\n')
        return text + (f'    Weights SHA256: {sha256}\n' if sha256 else '')

    rs = ('Image-Text Retrieval', 'Synthetic-RS', '{mR: 50.0}',
          URL_DIR + name)
    (root / 'metafile.yml').write_text(
        'Collections:\n  - Name: TinyCLIP\n    README: README.md\nModels:\n'
        + entry('tiny_rs_synthetic', *rs, sha256=sha)
        + entry('tiny_rs_no_hash', *rs)
        + entry('tiny_rs_near_hash', *rs, sha256=near)
        + entry('tiny_person_unpublished', 'Text-To-Image Retrieval',
                'Synthetic-Person', '{R@1: 1.0}', 'null'))
    (root / 'model-index.yml').write_text('Import:\n  - metafile.yml\n')
    return dict(root=root, index=str(root / 'model-index.yml'),
                published=Path(final), pub_dir=pub_dir, model=model,
                sha256=sha)


def test_publish_strips_training_state(zoo):
    path = zoo['published']
    import re
    assert re.fullmatch(r'tiny_rs_20250101-[0-9a-f]{8}\.pth', path.name)
    # plain weights_only load, no allow-list needed
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'state_dict', 'meta'}
    assert 'hook_msgs' not in ckpt['meta'] and ckpt['meta']['epoch'] == 3
    import hashlib
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert path.stem.endswith(digest[:8])
    # the full digest is recorded next to the file (sha256sum format)
    sidecar = Path(str(path) + '.sha256').read_text()
    assert sidecar == f'{digest}  {path.name}\n'


def test_list_models_filters(zoo):
    idx = zoo['index']
    rs = ['tiny_rs_near_hash', 'tiny_rs_no_hash', 'tiny_rs_synthetic']
    assert list_models(index=idx) == ['tiny_person_unpublished'] + rs
    assert list_models('*rs_syn*', index=idx) == ['tiny_rs_synthetic']
    assert list_models('PERSON', index=idx) == ['tiny_person_unpublished']
    assert list_models(task='text-to-image', index=idx) == [
        'tiny_person_unpublished']
    assert list_models(task='Image-Text Retrieval', index=idx) == rs
    assert list_models(dataset='synthetic-rs', index=idx) == rs
    assert list_models(exclude_patterns=['*person*'], index=idx) == rs
    assert list_models('nothing-like-this', index=idx) == []


def test_repository_index_lists_the_clip_baseline():
    names = list_models()  # found next to the package (editable install)
    assert 'clip_vit-b16_1xb128_rsitmd-galr' in names
    assert set(list_models(task='Text-To-Image')) >= {
        'clip_vit-b16_1xb128_cuhkpedes', 'clip_vit-b16_1xb128_rstpreid'}
    assert 'clip_vit-b16_1xb128_rsitmd-galr' not in list_models(
        task='Text-To-Image')
    for info in load_model_index().values():
        assert os.path.isfile(info.config), info


def test_offline_round_trip(zoo, monkeypatch):
    ref = zoo['model'].state_dict()
    model = get_model('TINY_RS_SYNTHETIC', pretrained=True,
                      offline_dir=str(zoo['pub_dir']), index=zoo['index'])
    assert model.checkpoint == str(zoo['published'])
    assert not model.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, ref[key]), key
    # the same through the environment variable
    monkeypatch.setenv('SDTR_OFFLINE_DIR', str(zoo['pub_dir']))
    model2 = get_model('tiny_rs_synthetic', pretrained=True,
                       index=zoo['index'])
    assert torch.equal(model2.state_dict()['image_encoder.proj'],
                       ref['image_encoder.proj'])


def test_offline_missing_file_names_it(zoo, tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        get_model('tiny_rs_synthetic', pretrained=True,
                  offline_dir=str(tmp_path), index=zoo['index'])
    msg = str(err.value)
    assert zoo['published'].name in msg and str(tmp_path) in msg
    assert URL_DIR in msg


def test_wrong_hash_rejected(zoo, tmp_path):
    bad = tmp_path / zoo['published'].name
    shutil.copy(zoo['published'], bad)
    with open(bad, 'r+b') as f:  # flip one byte of the payload
        f.seek(200)
        byte = f.read(1)
        f.seek(200)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumError, match='SHA-256') as err:
        get_model('tiny_rs_synthetic', pretrained=True,
                  offline_dir=str(tmp_path), index=zoo['index'])
    assert str(bad) in str(err.value)
    # a local path is checked when the user asks for it
    with pytest.raises(ChecksumError):
        get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=str(bad),
                  check_hash=True)
    with pytest.raises(ChecksumError):
        get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=str(bad),
                  sha256=zoo['sha256'])


def test_zoo_compares_the_full_recorded_sha256(zoo):
    """The recorded digest shares its first 8 hex digits (the name suffix)
    with the file but differs after them: refused."""
    with pytest.raises(ChecksumError, match=zoo['sha256']):
        get_model('tiny_rs_near_hash', pretrained=True,
                  offline_dir=str(zoo['pub_dir']), index=zoo['index'])


def test_zoo_entry_without_recorded_hash_is_refused(zoo):
    with pytest.raises(ModelZooError, match='without a recorded Weights '
                       'SHA256'):
        get_model('tiny_rs_no_hash', pretrained=True,
                  offline_dir=str(zoo['pub_dir']), index=zoo['index'])


def test_local_checkpoint_named_like_a_hash_is_not_rejected(zoo, tmp_path):
    """A user's file whose name ends in -<hex> is loaded as given: hash
    checks apply to zoo downloads or on request (issue 17)."""
    from sdtr.search import RetrievalInferencer
    local = tmp_path / 'run-deadbeef.pth'
    shutil.copy(zoo['published'], local)
    model = get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=str(local))
    assert torch.equal(model.state_dict()['image_encoder.proj'],
                       zoo['model'].state_dict()['image_encoder.proj'])
    inf = RetrievalInferencer(str(zoo['root'] / 'tiny_rs.py'),
                              checkpoint=str(local))
    assert inf.model.checkpoint == str(local)
    # asked for: the name's prefix is checked, a full digest as well
    with pytest.raises(ChecksumError, match='deadbeef'):
        get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=str(local),
                  check_hash=True)
    get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=str(local),
              sha256=zoo['sha256'])
    plain = tmp_path / 'plain.pth'
    shutil.copy(zoo['published'], plain)
    with pytest.raises(ChecksumError, match='no "-<sha256 prefix>" suffix'):
        get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=str(plain),
                  check_hash=True)


def test_malformed_recorded_sha256_is_named(tmp_path):
    (tmp_path / 'metafile.yml').write_text(
        'Models:\n  - Name: x\n    Config: x.py\n    Weights: https://a/b.pth'
        '\n    Weights SHA256: 1a2b3c4d\n')
    with pytest.raises(ModelZooError, match=r"metafile.yml.*'x'.*64 hex"):
        list_models(index=str(tmp_path / 'metafile.yml'))


def test_unpublished_weights_and_unknown_names(zoo):
    with pytest.raises(ModelZooError, match='no checkpoint is published'):
        get_model('tiny_person_unpublished', pretrained=True,
                  index=zoo['index'])
    with pytest.raises(ModelZooError, match='no checkpoint is published'):
        get_model('clip_vit-b16_1xb128_rsitmd-galr', pretrained=True)
    with pytest.raises(ModelZooError, match='not a model of the sdtr zoo'):
        get_model('tiny_rs_synthetc', index=zoo['index'])
    with pytest.raises(ModelZooError, match='used by several zoo models'):
        get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=True,
                  index=zoo['index'])
    with pytest.raises(ModelZooError, match='needs a model of the zoo'):
        get_model(str(TINY_RS), pretrained=True, index=zoo['index'])


def test_checkpoint_of_another_model_is_rejected(zoo, tmp_path):
    sd = dict(zoo['model'].state_dict())
    sd.pop('image_encoder.proj')
    sd['image_encoder.extra'] = torch.zeros(1)
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict=sd), path)
    with pytest.raises(CheckpointMismatchError) as err:
        get_model(str(zoo['root'] / 'tiny_rs.py'), pretrained=str(path))
    assert 'image_encoder.proj' in str(err.value)
    assert 'image_encoder.extra' in str(err.value)


def test_bad_metafile_is_named(tmp_path):
    (tmp_path / 'metafile.yml').write_text(
        'Models:\n  - Name: x\n    Results: []\n')
    (tmp_path / 'model-index.yml').write_text('Import:\n  - metafile.yml\n')
    with pytest.raises(ModelZooError, match=r"metafile.yml.*'x'.*Config"):
        list_models(index=str(tmp_path / 'model-index.yml'))
    with pytest.raises(FileNotFoundError, match='model index'):
        list_models(index=str(tmp_path / 'missing.yml'))
    assert REPO.is_dir()
