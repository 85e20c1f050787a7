"""WebDatasetCaptionDataset + shard writer: exact once-per-epoch splitting over
ranks x workers, resampled streams, scene labels, bad input."""
import collections
import io
import json
import os
import tarfile

import pytest
from mmengine.config import Config
from torch.utils.data import DataLoader

from sdtr.datasets import BadSampleError, WebDatasetCaptionDataset
from sdtr.datasets.shard_utils import (expand_braces, index_shards,
                                       write_caption_shards)
from sdtr.datasets.webdataset_captions import stable_label
from sdtr.registry import DATASETS

N_IMAGES = 21  # x 5 captions = 105 pairs, shards of 13 (uneven)


@pytest.fixture(scope='module')
def shard_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('shards')
    ds = DATASETS.build(dict(type='SyntheticRSCaptionDataset', split='train',
                             indices=N_IMAGES, pipeline=[]))
    result = write_caption_shards(ds, str(out), prefix='rs', maxcount=13)
    assert result['num_samples'] == N_IMAGES * 5
    assert result['num_shards'] == 9
    return out, ds


def _collect(shard_dir, world=2, workers=2, epoch=0, **kwargs):
    per_rank = []
    for rank in range(world):
        ds = WebDatasetCaptionDataset(str(shard_dir), rank=rank,
                                      world_size=world,
                                **kwargs)
        ds.set_epoch(epoch)
        loader = DataLoader(ds, batch_size=None, num_workers=workers)
        per_rank.append([s['sample_idx'] for s in loader])
        assert len(per_rank[-1]) == len(ds)
    return per_rank


@pytest.mark.parametrize('shuffle', [False, True])
def test_exact_mode_every_sample_once_2ranks_2workers(shard_dir, shuffle):
    folder, _ = shard_dir
    per_rank = _collect(folder, shuffle=shuffle, shuffle_buffer=16)
    counts = collections.Counter(i for r in per_rank for i in r)
    assert sorted(counts) == list(range(N_IMAGES * 5))
    assert set(counts.values()) == {1}
    assert [len(r) for r in per_rank] == [52, 53]
    if shuffle:  # another epoch: another order, still exactly once
        again = _collect(folder, shuffle=True, shuffle_buffer=16, epoch=1)
        assert again != per_rank
        assert sorted(i for r in again for i in r) == list(range(105))


def test_resampled_mode_quota_and_disjoint_passes(shard_dir):
    folder, _ = shard_dir
    per_rank = _collect(folder, resampled=True, epoch_size=60,
                        shuffle_buffer=0)
    assert [len(r) for r in per_rank] == [30, 30]
    # inside one pass (<= 26 samples per worker) no two slots share a sample
    flat = [i for r in per_rank for i in r]
    assert len(set(flat)) == len(flat) == 60
    more = _collect(folder, resampled=True, epoch_size=400,
                    shuffle_buffer=0)
    assert [len(r) for r in more] == [200, 200]
    assert set(i for r in more for i in r) == set(range(105))  # resampled
    with pytest.raises(ValueError, match='ranks'):
        list(WebDatasetCaptionDataset(str(folder), resampled=True, rank=0,
                                world_size=200))


def test_samples_contract_and_scene_labels(shard_dir):
    folder, ds = shard_dir
    stream = WebDatasetCaptionDataset(
        str(folder), shuffle=False,
        pipeline=[dict(type='PackRetrievalInputs')])
    assert stream.scene_classes == sorted(
        {r['label_name'] for r in ds.image_records})
    items = list(stream)
    assert len(items) == 105
    meta = items[7]['data_samples'].metainfo
    rec = ds.image_records[7 // 5]
    assert meta['text'] == rec['captions'][7 % 5]
    assert meta['image_id'] == meta['pid'] == meta['sample_idx'] == 7
    assert stream.scene_classes[meta['label']] == rec['label_name']
    assert items[7]['inputs'].shape[0] == 3
    # without a class list the label is a stable hash of the scene name
    hashed = WebDatasetCaptionDataset(str(folder), shuffle=False,
                                      scene_classes=[])
    hashed.scene_classes, hashed._class_idx = None, None
    first = next(iter(hashed))
    assert first['label'] == stable_label(ds.image_records[0]['label_name'])


def _write_tar(path, members):
    with tarfile.open(path, 'w') as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_upstream_keys_brace_patterns_and_bad_input(tmp_path, shard_dir):
    folder, _ = shard_dir
    png = next(iter(
        tarfile.open(folder / 'rs-000000.tar'))).name  # a real image member
    with tarfile.open(folder / 'rs-000000.tar') as tar:
        img = tar.extractfile(png).read()
    # upstream PIR-CLIP RS5M members: img_content / caption / img_name
    _write_tar(tmp_path / 'u-0.tar', [
        ('a.img_content', img), ('a.caption', b'a harbor with boats'),
        ('a.img_name', b'harbor_12.jpg'), ('b.jpg', img), ('b.txt', b'x'),
        ('b.json', json.dumps({'img_name': 'farmland_3.png'}).encode())])
    _write_tar(tmp_path / 'u-1.tar', [('c.png', img)])  # no caption
    files = expand_braces(str(tmp_path / 'u-{0..1}.tar'))
    assert [f[-7:] for f in files] == ['u-0.tar', 'u-1.tar']
    ds = WebDatasetCaptionDataset(str(tmp_path / 'u-{0..0}.tar'),
                                  shuffle=False)
    got = list(ds)
    assert [g['text'] for g in got] == ['a harbor with boats', 'x']
    assert [g['scene'] for g in got] == ['harbor', 'farmland']
    with pytest.raises(BadSampleError, match=r"u-1.tar.*'c'.*caption"):
        list(WebDatasetCaptionDataset(files, shuffle=False))
    skipped = list(WebDatasetCaptionDataset(files, shuffle=False,
                                      skip_bad_samples=True))
    assert len(skipped) == 2
    with pytest.raises(BadSampleError, match='missing.tar.*do not exist'):
        WebDatasetCaptionDataset([str(tmp_path / 'missing.tar')])
    with pytest.raises(ValueError, match='LoadImage'):
        WebDatasetCaptionDataset(files, pipeline=[dict(type='LoadImage')])
    # an index that promises more samples than the shard holds
    index_shards(str(tmp_path), 'u-0.tar')
    idx = json.loads((tmp_path / 'shards.json').read_text())
    assert idx['shards'] == [{'file': 'u-0.tar', 'num_samples': 2}]
    idx['shards'][0]['num_samples'] = 5
    (tmp_path / 'shards.json').write_text(json.dumps(idx))
    with pytest.raises(BadSampleError, match='index says 5'):
        list(WebDatasetCaptionDataset(str(tmp_path), shuffle=False))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(BadSampleError, match='shards.json'):
        WebDatasetCaptionDataset(str(tmp_path / 'empty'))


def test_rs5m_base_config():
    from pathlib import Path
    cfg = Config.fromfile(str(
        Path(__file__).resolve().parents[2] /
        'configs/_base_/datasets/rs5m_shards.py'))
    dl = cfg.train_dataloader
    assert dl.sampler is None and dl.dataset.type == 'WebDatasetCaptionDataset'
    assert dl.dataset.resampled is True
    assert cfg.custom_hooks == [dict(type='DatasetEpochHook')]


def test_epoch_counter_without_set_epoch(shard_dir):
    """Persistent workers never see set_epoch: every new iteration of the
    same copy advances the epoch; set_epoch resets the counter."""
    folder, _ = shard_dir
    ds = WebDatasetCaptionDataset(str(folder), shuffle_buffer=8)
    first = [s['sample_idx'] for s in ds]
    second = [s['sample_idx'] for s in ds]
    ref = WebDatasetCaptionDataset(str(folder), shuffle_buffer=8)
    ref.set_epoch(1)
    assert second == [s['sample_idx'] for s in ref] and second != first
    ds.set_epoch(0)
    assert [s['sample_idx'] for s in ds] == first


# ---------------------------------------------------------------- URLs
@pytest.fixture(scope='module')
def http_shards(shard_dir):
    """The shard folder served on 127.0.0.1 (as an object store's HTTP
    endpoint would); yields the base URL and the request log."""
    import functools
    import http.server
    import threading
    folder, _ = shard_dir
    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):

        def log_message(self, fmt, *args):
            requests.append(self.path)

    httpd = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0),
        functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever,
                              kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{httpd.server_port}', requests
    httpd.shutdown()


def _local_order(folder, **kwargs):
    return [(s['sample_idx'], s['text']) for s in
            WebDatasetCaptionDataset(str(folder), **kwargs)]


def test_http_shards_with_index_exact_split(shard_dir, http_shards):
    """shards.json and the shards come over HTTP (webdataset's gopen); the
    exact mode still yields every sample once over 2 ranks x 2 workers."""
    folder, _ = shard_dir
    base, requests = http_shards
    ds = WebDatasetCaptionDataset(base + '/', rank=0, world_size=1,
                                  shuffle=False)
    assert ds.shard_files[0] == base + '/rs-000000.tar'
    assert ds.num_samples_total == N_IMAGES * 5
    assert '/shards.json' in requests
    per_rank = _collect(base + '/shards.json', shuffle=True,
                        shuffle_buffer=16)
    assert sorted(i for r in per_rank for i in r) == list(range(105))
    assert [len(r) for r in per_rank] == [52, 53]
    assert any(r.endswith('.tar') for r in requests)
    # identical samples to the local folder, in the same order
    assert _local_order(base + '/', shuffle=False) == \
        _local_order(folder, shuffle=False)


def test_http_brace_pattern_without_index_and_resampled(shard_dir,
                                                        http_shards):
    folder, _ = shard_dir
    base, _ = http_shards
    pattern = base + '/rs-{000000..000008}.tar'
    ds = WebDatasetCaptionDataset(pattern, shuffle=False)
    assert ds.shard_sizes == [13] * 8 + [1]  # counted over HTTP
    per_rank = _collect(pattern, resampled=True, epoch_size=60,
                        shuffle_buffer=0)
    assert [len(r) for r in per_rank] == [30, 30]
    local = _collect(folder, resampled=True, epoch_size=60, shuffle_buffer=0)
    assert per_rank == local


def test_pipe_and_s3_urls(shard_dir, tmp_path, monkeypatch):
    """pipe:<command> as webdataset reads it; s3:// through the AWS CLI
    (here a stand-in `aws` that cats the local file)."""
    folder, _ = shard_dir
    files = sorted(str(p) for p in folder.glob('rs-*.tar'))
    want = _local_order(folder, shuffle=False)
    piped = [f'pipe:cat {f}' for f in files]
    got = [(s['sample_idx'], s['text']) for s in
           WebDatasetCaptionDataset(piped, shuffle=False)]
    assert got == want
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    fake_aws = bin_dir / 'aws'
    fake_aws.write_text('#!/usr/bin/env bash\n'
                        '# aws s3 cp s3://bucket/<name> -\n'
                        f'exec cat {folder}/"${{3##*/}}"\n')
    fake_aws.chmod(0o755)
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    s3 = WebDatasetCaptionDataset('s3://bucket/rs5m/rs-{000000..000008}.tar',
                            shuffle=False)
    assert [(s['sample_idx'], s['text']) for s in s3] == want


def test_url_errors_name_the_url(shard_dir, http_shards):
    base, _ = http_shards
    missing = base + '/rs-999999.tar'
    with pytest.raises(BadSampleError, match='rs-999999.tar.*URL'):
        WebDatasetCaptionDataset([missing])
    with pytest.raises(BadSampleError, match='nosuch/shards.json'):
        WebDatasetCaptionDataset(base + '/nosuch/')
    with pytest.raises(BadSampleError, match='pipe:false'):
        list(WebDatasetCaptionDataset(['pipe:false'], shuffle=False))
    with pytest.raises(BadSampleError, match='no gopen handler|supported'):
        WebDatasetCaptionDataset(['nosuchscheme://x/y.tar'])
