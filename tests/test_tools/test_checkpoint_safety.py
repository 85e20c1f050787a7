"""Hostile and mismatched checkpoints through tools/train.py and
tools/test.py (called in-process): URL payloads are refused before anything
in them runs, a checkpoint of another architecture stops with the key lists,
and tools/test.py accepts URLs and dumps per-query rankings."""
import functools
import http.server
import json
import os
import threading

import pytest
import torch

from sdtr.models.utils import CheckpointMismatchError
from .conftest import REPO, write_tiny_config
from test_apis.helpers import load_tool

train_tool = load_tool('tools/train.py')
test_tool = load_tool('tools/test.py')
TINY = 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'


class Payload:
    """Unpickling this creates a directory: harmless proof of execution."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker, ))


@pytest.fixture
def served(tmp_path, monkeypatch):
    """An HTTP server on 127.0.0.1 serving tmp_path/www; torch.hub's cache
    in tmp_path/torch."""
    www = tmp_path / 'www'
    www.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.delenv('SDTR_TRUST_CHECKPOINTS', raising=False)

    class Quiet(http.server.SimpleHTTPRequestHandler):

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(Quiet, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield www, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()


@pytest.fixture(scope='module')
def tiny_state():
    """Weights of the tiny quickstart model (random init)."""
    from sdtr.apis import get_model
    torch.manual_seed(0)
    return get_model(str(REPO / TINY)).state_dict()


def _payload_checkpoint(path, marker, state):
    torch.save(dict(state_dict=state, meta=dict(epoch=1),
                    extra=Payload(marker)), path)
    # the payload is real: a plain weights_only=False load runs it
    torch.load(path, weights_only=False)
    assert marker.is_dir()
    marker.rmdir()


def test_url_payload_refused_by_train_and_test(served, tmp_path, tiny_state):
    www, base = served
    marker = tmp_path / 'PAYLOAD_RAN'
    _payload_checkpoint(www / 'x.pth', marker, tiny_state)
    cfg = write_tiny_config(tmp_path / 'tiny.py', TINY)
    with pytest.raises(RuntimeError, match='safe unpickler') as err:
        train_tool.main([cfg, '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'load_from={base}/x.pth'])
    assert f'{base}/x.pth' in str(err.value)
    assert 'posix.mkdir' in str(err.value) or 'mkdir' in str(err.value)
    assert not marker.exists()
    # downloaded into torch.hub's cache, not executed
    assert len(list((tmp_path / 'torch' / 'hub' / 'checkpoints').glob(
        '*-x.pth'))) == 1
    with pytest.raises(RuntimeError, match='safe unpickler'):
        test_tool.main([cfg, f'{base}/x.pth', '--work-dir',
                        str(tmp_path / 'w2')])
    assert not marker.exists()


def test_test_tool_accepts_urls(served, tmp_path, tiny_state):
    www, base = served
    torch.save(dict(state_dict=tiny_state), www / 'good.pth')
    cfg = write_tiny_config(tmp_path / 'tiny.py', TINY)
    out = tmp_path / 'm.json'
    test_tool.main([cfg, f'{base}/good.pth', '--out', str(out),
                    '--work-dir', str(tmp_path / 'w')])
    assert 'rsitr/mR' in json.loads(out.read_text())
    # a missing local file is named as such
    with pytest.raises(FileNotFoundError, match='nope.pth.*http'):
        test_tool.main([cfg, str(tmp_path / 'nope.pth')])


def _narrow_checkpoint(tmp_path):
    """A CLIP checkpoint of the tiny model with width 64 instead of 128."""
    from sdtr.apis import get_model
    narrow = get_model(str(REPO / TINY), image_encoder=dict(width=64),
                       text_encoder=dict(width=64))
    path = tmp_path / 'narrow.pth'
    torch.save(dict(state_dict=narrow.state_dict()), path)
    return str(path)


def test_test_tool_refuses_a_mismatched_checkpoint(tmp_path):
    cfg = write_tiny_config(tmp_path / 'tiny.py', TINY)
    ckpt = _narrow_checkpoint(tmp_path)
    out = tmp_path / 'm.json'
    with pytest.raises(CheckpointMismatchError) as err:
        test_tool.main([cfg, ckpt, '--out', str(out), '--work-dir',
                        str(tmp_path / 'w')])
    msg = str(err.value)
    assert 'narrow.pth' in msg and 'shape mismatches' in msg
    assert 'image_encoder.conv1.weight: checkpoint (64, 3, 8, 8) vs model ' \
        '(128, 3, 8, 8)' in msg
    assert not out.exists()
    # explicit opt-in: evaluated, coverage in the log
    test_tool.main([cfg, ckpt, '--out', str(out), '--partial-load',
                    '--work-dir', str(tmp_path / 'w2')])
    assert out.is_file()
    logs = list((tmp_path / 'w2').rglob('*.log'))
    text = '\n'.join(p.read_text() for p in logs)
    assert 'partial load (load_cfg.strict=False)' in text
    assert 'image_encoder.conv1.weight' in text


def test_load_from_in_training_is_strict(tmp_path, tiny_state):
    cfg = write_tiny_config(tmp_path / 'tiny.py', TINY, max_iters=1)
    ckpt = _narrow_checkpoint(tmp_path)
    with pytest.raises(CheckpointMismatchError, match='load_from'):
        train_tool.main([cfg, '--work-dir', str(tmp_path / 'w'),
                         '--cfg-options', f'load_from={ckpt}'])
    # an extra key (another head) is an error too ...
    extra = dict(tiny_state, **{'head.fc.weight': torch.zeros(2, 2)})
    torch.save(dict(state_dict=extra), tmp_path / 'extra.pth')
    with pytest.raises(CheckpointMismatchError,
                       match=r'unexpected keys \(1\): head.fc.weight'):
        train_tool.main([cfg, '--work-dir', str(tmp_path / 'w2'),
                         '--cfg-options',
                         f'load_from={tmp_path / "extra.pth"}'])
    # ... unless excluded on purpose (load_cfg.ignore_keys): then it trains
    train_tool.main([cfg, '--work-dir', str(tmp_path / 'w3'),
                     '--cfg-options', f'load_from={tmp_path / "extra.pth"}',
                     'load_cfg.ignore_keys=[^head\\.]',
                     'train_cfg.val_interval=100'])
    text = '\n'.join(p.read_text()
                     for p in (tmp_path / 'w3').rglob('*.log'))
    n = len(tiny_state)
    assert f'loaded {n}/{n} model tensors (100.0%); excluded by ' \
        'load_cfg.ignore_keys: head.fc.weight' in text


def test_dump_rankings_agree_with_the_metrics(tmp_path, tiny_state):
    cfg = write_tiny_config(tmp_path / 'tiny.py', TINY)
    ckpt = tmp_path / 'tiny.pth'
    torch.save(dict(state_dict=tiny_state), ckpt)
    out, ranks = tmp_path / 'm.json', tmp_path / 'rankings.json'
    test_tool.main([cfg, str(ckpt), '--out', str(out), '--dump-rankings',
                    str(ranks), '--dump-topk', '5', '--work-dir',
                    str(tmp_path / 'w')])
    metrics, dump = json.loads(out.read_text()), json.loads(ranks.read_text())
    assert dump['relevance'] == 'image' and dump['topk'] == 5
    assert len(dump['i2t']) == dump['num_images'] == 21
    assert len(dump['t2i']) == dump['num_texts'] == 105
    for direction in ('i2t', 't2i'):
        ranks_ = [q['gt_rank'] for q in dump[direction]]
        for k in (1, 5, 10):
            recall = 100.0 * sum(r <= k for r in ranks_) / len(ranks_)
            assert recall == pytest.approx(
                metrics[f'rsitr/{direction}_R@{k}'], abs=1e-9)
    query = dump['t2i'][0]
    assert query['caption'] and len(query['results']) == 5
    scores = [r['score'] for r in query['results']]
    assert scores == sorted(scores, reverse=True)
    assert all(r['img_path'].endswith('.png') for r in query['results'])
    hits = [i for i, r in enumerate(query['results']) if r['relevant']]
    if hits:
        assert query['gt_rank'] == hits[0] + 1
    # mmpretrain's spelling: --out FILE --out-item pred
    alias = tmp_path / 'pred.json'
    test_tool.main([cfg, str(ckpt), '--out', str(alias), '--out-item',
                    'pred', '--dump-topk', '5', '--work-dir',
                    str(tmp_path / 'w2')])
    assert json.loads(alias.read_text()) == dump


def test_person_rankings_use_identities(tmp_path):
    """Person search: a gallery image is relevant when it shows the query's
    identity; the t2i ranks reproduce R@K of PersonSearchMetric."""
    from sdtr.apis import get_model
    person = 'configs/quickstart/clip_tiny_1xb32_synthetic-person.py'
    cfg = write_tiny_config(
        tmp_path / 'tiny_person.py', person,
        extra="train_dataloader = dict(sampler=dict(_delete_=True, "
        "type='DefaultSampler', shuffle=True))")
    torch.manual_seed(0)
    ckpt = tmp_path / 'person.pth'
    torch.save(dict(state_dict=get_model(str(REPO / person)).state_dict()),
               ckpt)
    out, ranks = tmp_path / 'm.json', tmp_path / 'rankings.json'
    test_tool.main([cfg, str(ckpt), '--out', str(out), '--dump-rankings',
                    str(ranks), '--work-dir', str(tmp_path / 'w')])
    metrics, dump = json.loads(out.read_text()), json.loads(ranks.read_text())
    assert dump['relevance'] == 'identity'
    ranks_ = [q['gt_rank'] for q in dump['t2i']]
    for k in (1, 5, 10):
        recall = 100.0 * sum(r <= k for r in ranks_) / len(ranks_)
        assert recall == pytest.approx(metrics[f'person/R@{k}'], abs=1e-9)
    # several gallery images can show the query's identity
    assert max(len(q['gt']) for q in dump['t2i']) > 1
