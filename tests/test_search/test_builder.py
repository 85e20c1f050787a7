"""tools/build_gallery.py: shards -> index equal to the inferencer's features;
killed and resumed (done shards skipped), a failure at every later stage
(merge, publish, clean-up) resumed by the same command; --add; bad images;
the sdtr command; search --out checked before encoding."""
import logging
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from sdtr.search import RetrievalInferencer, builder
from sdtr.search.index import SearchIndex
from sdtr.utils.errors import SdtrError
from test_apis.helpers import make_tiny_search_setup
from test_tools.conftest import REPO


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    return make_tiny_search_setup(tmp_path_factory.mktemp('bg'),
                                  num_images=40)


@pytest.fixture(scope='module')
def reference(setup):
    inf = RetrievalInferencer(setup['config'], checkpoint=setup['ckpt'])
    return inf, inf.encode_image(setup['paths'])


def build(setup, out, *extra):
    from sdtr.tools.build_gallery import main
    return main([setup['config'], setup['ckpt'], '--images',
                 setup['images'], '--out', str(out), '--workers', '0',
                 '--batch-size', '4', *extra])


def test_shards_merge_to_the_inferencer_features(setup, reference,
                                                 tmp_path):
    inf, feats = reference
    assert build(setup, tmp_path / 'idx', '--shard-size', '7',
                 '--workers', '2') == 0
    idx = SearchIndex.open(str(tmp_path / 'idx'))
    assert len(idx) == 40 and idx.kind == 'image'
    assert idx.items.tolist() == [os.path.abspath(p)
                                  for p in setup['paths']]
    torch.testing.assert_close(torch.from_numpy(np.array(idx.vectors)),
                               feats, atol=1e-6, rtol=0)
    assert idx.fingerprint == inf.fingerprint
    assert not (tmp_path / 'idx.partial').exists()  # shards cleaned up
    # an existing index is not overwritten by accident
    with pytest.raises(SdtrError, match='--overwrite'):
        build(setup, tmp_path / 'idx')
    # hnsw through the tool, then searched through the inferencer
    build(setup, tmp_path / 'hnsw', '--index-type', 'hnsw')
    inf.build_gallery(str(tmp_path / 'hnsw'))
    got = inf.search('a river crosses a green forest', topk=5)
    inf.build_gallery(setup['images'])
    exact = inf.search('a river crosses a green forest', topk=5)
    assert [r['index'] for r in got] == [r['index'] for r in exact]


def test_killed_build_resumes(setup, reference, tmp_path):
    out = tmp_path / 'idx'
    partial = tmp_path / 'idx.partial'
    args = [sys.executable, 'tools/build_gallery.py', setup['config'],
            setup['ckpt'], '--images', setup['images'], '--out', str(out),
            '--workers', '0', '--batch-size', '1', '--shard-size', '2',
            '--keep-shards']
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    proc = subprocess.Popen(args, cwd=str(REPO), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    while not (partial / 'shard-00001.safetensors').exists():
        assert proc.poll() is None, proc.stdout.read().decode()
        assert time.time() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGSTOP)  # freeze, then kill: a real crash
    done = sorted(p.name for p in partial.glob('shard-*.safetensors'))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert 2 <= len(done) < 20, done
    assert not out.exists()
    stamps = {n: (partial / n).stat().st_mtime_ns for n in done}
    from mmengine.logging import MMLogger
    lines = []
    handler = logging.Handler()
    handler.emit = lambda r: lines.append(r.getMessage())
    MMLogger.get_current_instance().addHandler(handler)
    try:
        build(setup, out, '--batch-size', '1', '--shard-size', '2',
              '--keep-shards')
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    log = '\n'.join(lines)
    assert f'{len(done)} already done (skipped), {20 - len(done)} to ' \
        'embed' in log, log
    assert f'{2 * len(done)} done before' in log, log
    for n, stamp in stamps.items():  # not rewritten
        assert (partial / n).stat().st_mtime_ns == stamp
    idx = SearchIndex.open(str(out))
    torch.testing.assert_close(torch.from_numpy(np.array(idx.vectors)),
                               reference[1], atol=1e-6, rtol=0)
    # other settings on the same partial folder: refused, then --restart
    with pytest.raises(SdtrError, match=r'other settings \(shard_size '
                       r'differ\).*--restart'):
        build(setup, out, '--shard-size', '3', '--overwrite')
    assert build(setup, out, '--shard-size', '3', '--overwrite',
                 '--restart') == 0
    assert not partial.exists()


class _Fail(Exception):
    """The injected failure (a kill at that point)."""


def _fail_on_call(n, real):
    """``real``, except that its ``n``-th call raises :class:`_Fail`."""
    calls = []

    def fake(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise _Fail(f'killed at call {n}')
        return real(*args, **kwargs)
    return fake


STAGES = {
    # the third shard is never written
    'embed': (builder, 'embed_shard', 3),
    # the merge into OUT.partial/index.tmp dies after its first rows
    'merge': (SearchIndex, 'add', 2),
    # merged, not published yet
    'publish': (builder, 'publish', 1),
    # published, the partial folder still there
    'cleanup': (shutil, 'rmtree', 1),
}


@pytest.mark.parametrize('stage', list(STAGES))
def test_rerun_resumes_after_a_failure_at_any_stage(
        setup, reference, tmp_path, monkeypatch, stage):
    """The same command, run again after a failure at any stage, finishes
    the index (the issue: a kill during the final merge made it refuse
    with "pass --overwrite")."""
    owner, name, n = STAGES[stage]
    monkeypatch.setattr(owner, name, _fail_on_call(n, getattr(owner, name)))
    out = tmp_path / 'idx'
    with pytest.raises(_Fail):
        build(setup, out, '--shard-size', '16')
    monkeypatch.undo()
    assert build(setup, out, '--shard-size', '16') == 0
    idx = SearchIndex.open(str(out)).verify()
    torch.testing.assert_close(torch.from_numpy(np.array(idx.vectors)),
                               reference[1], atol=1e-6, rtol=0)
    assert not (tmp_path / 'idx.partial').exists()


def test_overwrite_resumes_after_a_failure_between_the_renames(
        setup, reference, tmp_path, monkeypatch):
    """--overwrite moves the old index aside, then renames the new one in:
    killed in between, OUT is missing and the same command puts the new
    index in place."""
    out = tmp_path / 'idx'
    build(setup, out, '--dtype', 'float16')
    # renames: the merged index.tmp -> index, OUT aside, index -> OUT
    monkeypatch.setattr(os, 'rename', _fail_on_call(3, os.rename))
    with pytest.raises(_Fail):
        build(setup, out, '--overwrite')
    monkeypatch.undo()
    assert not out.exists()
    assert build(setup, out, '--overwrite') == 0
    idx = SearchIndex.open(str(out))
    assert idx.meta['dtype'] == 'float32' and len(idx) == 40
    torch.testing.assert_close(torch.from_numpy(np.array(idx.vectors)),
                               reference[1], atol=1e-6, rtol=0)
    assert not (tmp_path / 'idx.partial').exists()


def test_add_only_new_images(setup, reference, tmp_path):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for p in setup['paths'][:30]:
        os.link(p, folder / os.path.basename(p))
    sub = dict(setup, images=str(folder))
    build(sub, tmp_path / 'idx')
    for p in setup['paths'][30:]:
        os.link(p, folder / os.path.basename(p))
    inf = reference[0]
    calls = []
    real = RetrievalInferencer.embed_prepared
    RetrievalInferencer.embed_prepared = lambda self, b: (
        calls.append(len(b)), real(self, b))[1]
    try:
        build(sub, tmp_path / 'idx', '--add')
        assert sum(calls) == 10  # only the new images were encoded
        calls.clear()
        build(sub, tmp_path / 'idx', '--add')  # nothing new
        assert sum(calls) == 0
    finally:
        RetrievalInferencer.embed_prepared = real
    idx = SearchIndex.open(str(tmp_path / 'idx'))
    assert len(idx) == 40
    torch.testing.assert_close(torch.from_numpy(np.array(idx.vectors)),
                               reference[1], atol=1e-6, rtol=0)
    assert idx.fingerprint == inf.fingerprint


def test_add_onto_another_models_index_is_refused(setup, tmp_path):
    out = tmp_path / 'caps'
    from sdtr.tools.build_gallery import main
    args = [setup['config'], setup['ckpt'], '--captions', setup['captions'],
            '--out', str(out)]
    main(args)
    before = sorted(os.listdir(out))
    other = [setup['config'], 'none'] + args[2:] + ['--add']
    with pytest.raises(SdtrError, match=r'caps.* was built by another model '
                       r'\(weights differ\)'):
        main(other)
    assert sorted(os.listdir(out)) == before  # nothing written
    with pytest.raises(SdtrError, match='not an index to extend'):
        main(args[:-1] + [str(tmp_path / 'none'), '--add'])


def test_bad_images_stop_or_are_listed(setup, tmp_path):
    folder = tmp_path / 'imgs'
    folder.mkdir()
    for p in setup['paths'][:5]:
        os.link(p, folder / os.path.basename(p))
    (folder / 'tile_02b.png').write_bytes(b'\x89PNG broken')
    sub = dict(setup, images=str(folder))
    with pytest.raises(SdtrError, match='tile_02b.png.*--skip-bad'):
        build(sub, tmp_path / 'idx')
    build(sub, tmp_path / 'idx2', '--skip-bad', '--restart')
    idx = SearchIndex.open(str(tmp_path / 'idx2'))
    assert len(idx) == 5
    assert [os.path.basename(b) for b in idx.info['bad_images']] == \
        ['tile_02b.png']


def test_caption_index(setup, tmp_path):
    build_args = [setup['config'], setup['ckpt'], '--captions',
                  setup['captions'], '--out', str(tmp_path / 'caps')]
    from sdtr.tools.build_gallery import main
    main(build_args)
    idx = SearchIndex.open(str(tmp_path / 'caps'), kind='text')
    assert idx.items.tolist() == setup['caption_list']
    inf = RetrievalInferencer(setup['config'], checkpoint=setup['ckpt'])
    torch.testing.assert_close(
        torch.from_numpy(np.array(idx.vectors)),
        inf.encode_text(setup['caption_list']), atol=1e-6, rtol=0)


def test_sdtr_command(setup, tmp_path, capsys):
    from sdtr.cli import find_tool, main
    assert main(['--help']) == 0
    out = capsys.readouterr().out
    assert 'sdtr build-gallery CONFIG CKPT' in out and 'Examples' in out
    assert main(['trian']) == 2
    assert 'did you mean train' in capsys.readouterr().err
    assert find_tool('train') == str(REPO / 'tools' / 'train.py')
    for cmd in ('search', 'build-gallery', 'serve', 'train', 'test'):
        with pytest.raises(SystemExit) as exit_:
            main([cmd, '--help'])
        assert exit_.value.code == 0
        assert f'usage: sdtr {cmd}' in capsys.readouterr().out
    assert main(['list-models', 'clip_vit-b16_1xb128_rsitmd-galr', '-v']) == 0
    assert 'configs/clip/clip_vit-b16_1xb128_rsitmd-galr.py' in \
        capsys.readouterr().out
    assert main(['build-gallery', setup['config'], setup['ckpt'],
                 '--captions', setup['captions'], '--out',
                 str(tmp_path / 'c')]) == 0
    assert len(SearchIndex.open(str(tmp_path / 'c'))) == 6
    # the installed console script is the same entry point
    proc = subprocess.run([sys.executable, '-m', 'sdtr', '--help'],
                          cwd=str(REPO), capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0 and 'list-models' in proc.stdout


def test_search_out_folder_before_encoding(setup, tmp_path, monkeypatch):
    from sdtr.tools import search
    out = tmp_path / 'new' / 'dir' / 'r.png'
    results = search.main(['--config', setup['config'], '--checkpoint',
                           setup['ckpt'], '--gallery', setup['images'],
                           '--query', 'two tennis courts', '--topk', '3',
                           '--out', str(out)])
    assert out.is_file() and len(results) == 3
    blocker = tmp_path / 'file'
    blocker.write_text('')

    def no_encoding(*a, **k):
        raise AssertionError('the gallery was encoded before --out failed')
    monkeypatch.setattr('sdtr.search.RetrievalInferencer', no_encoding)
    with pytest.raises(SystemExit, match='cannot create the folder'):
        search.main(['--config', setup['config'], '--gallery',
                     setup['images'], '--query', 'x', '--out',
                     str(blocker / 'sub' / 'r.png')])


def test_grid_enlarges_small_images(tmp_path):
    from sdtr.visualization import draw_search_results, fit_tile
    small = Image.fromarray(np.arange(32 * 32 * 3, dtype=np.uint8)
                            .reshape(32, 32, 3) % 251)
    big = fit_tile(small, 160)
    assert big.size == (160, 160)
    np.testing.assert_array_equal(np.asarray(big)[:5, :5],
                                  np.broadcast_to(np.asarray(small)[0, 0],
                                                  (5, 5, 3)))
    assert fit_tile(Image.new('RGB', (400, 200)), 160).size == (160, 80)
    path = tmp_path / 's.png'
    small.save(path)
    out = draw_search_results('q', [dict(rank=1, score=0.5, item=str(path))],
                              str(tmp_path / 'g.png'), thumb=160)
    grid = np.asarray(Image.open(out).convert('RGB'))
    x0, y0 = 10 + 160 + 10, 10
    tile = grid[y0:y0 + 160, x0:x0 + 160]
    # the whole tile is the picture (no white margin around a 32-px copy)
    np.testing.assert_array_equal(tile, np.asarray(big))


def test_ranks_share_the_shards(setup, reference, tmp_path, monkeypatch):
    """What torchrun does with 2 processes: rank 1 embeds the odd shards and
    returns, rank 0 the even ones, waits for all and merges."""
    out = tmp_path / 'idx'
    monkeypatch.setenv('WORLD_SIZE', '2')
    monkeypatch.setenv('RANK', '1')
    monkeypatch.setenv('LOCAL_RANK', '1')
    build(setup, out, '--shard-size', '6', '--keep-shards')
    shards = sorted(p.name for p in (tmp_path / 'idx.partial').glob(
        'shard-*'))
    assert shards == [f'shard-{i:05d}.safetensors' for i in (1, 3, 5)]
    assert not out.exists()  # only rank 0 merges
    monkeypatch.setenv('RANK', '0')
    monkeypatch.setenv('LOCAL_RANK', '0')
    build(setup, out, '--shard-size', '6')
    idx = SearchIndex.open(str(out))
    torch.testing.assert_close(torch.from_numpy(np.array(idx.vectors)),
                               reference[1], atol=1e-6, rtol=0)
