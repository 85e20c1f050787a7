"""Index folders: exact search equal to topk_search (ties included), with and
without FAISS; incremental adds; crash safety; approximate recall."""
import json
import os

import numpy as np
import pytest
import torch

import sdtr.search.index as index_mod
from sdtr.search.index import SearchIndex, build_index, default_params
from sdtr.search.items import ItemStore
from sdtr.search.topk import topk_search
from sdtr.utils.errors import SdtrError


def unit(n, d, seed=0, centres=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    if centres:
        c = rng.standard_normal((centres, d)).astype(np.float32)
        x = c[rng.integers(0, centres, n)] + 0.3 * x / np.sqrt(d)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(params=['faiss', 'torch'])
def backend(request, monkeypatch):
    if request.param == 'faiss':
        pytest.importorskip('faiss')
    else:  # the path taken when faiss is not installed
        monkeypatch.setattr(index_mod, 'faiss_available', lambda: False)
    return request.param


def test_flat_equals_topk_search_with_ties(tmp_path, backend):
    x = unit(5000, 16)
    dups = [3, 900, 1800, 2700, 4999]  # five identical rows
    x[dups] = x[3]
    names = [f'img_{i}.png' for i in range(len(x))]
    idx = build_index(str(tmp_path / 'idx'), [(x[:2000], names[:2000]),
                                             (x[2000:], names[2000:])], 16)
    q = np.concatenate([x[[3]], unit(6, 16, seed=1)])
    s, i = SearchIndex.open(str(tmp_path / 'idx')).search(q, 3)
    s0, i0 = topk_search(torch.from_numpy(q), torch.from_numpy(x), 3)
    # the lowest three of the five tied rows, in increasing order
    assert i[0].tolist() == [3, 900, 1800]
    assert torch.equal(i, i0)
    torch.testing.assert_close(s, s0, atol=1e-5, rtol=0)
    assert idx.items[1800] == 'img_1800.png'
    # a 1-D query gives 1-D results
    s1, i1 = SearchIndex.open(str(tmp_path / 'idx')).search(x[900], 2)
    assert i1.tolist() == [3, 900] and s1.shape == (2,)


def test_incremental_add_equals_one_build(tmp_path):
    x = unit(300, 8)
    names = [f'caption "{i}" \u00e9\n2nd line' for i in range(300)]
    one = build_index(str(tmp_path / 'one'), [(x, names)], 8, kind='text')
    inc = SearchIndex.create(str(tmp_path / 'inc'), 8, kind='text')
    inc.add(x[:100], names[:100])
    inc = SearchIndex.open(str(tmp_path / 'inc'))
    inc.add(x[100:250], names[100:250])
    SearchIndex.open(str(tmp_path / 'inc')).add(x[250:], names[250:])
    inc = SearchIndex.open(str(tmp_path / 'inc'))
    assert len(inc) == 300 and inc.items.tolist() == names
    np.testing.assert_array_equal(np.asarray(inc.vectors), x)
    for f in ('vectors.f32', 'items.jsonl', 'items.offsets'):
        assert (tmp_path / 'one' / f).read_bytes() == \
            (tmp_path / 'inc' / f).read_bytes()
    q = unit(4, 8, seed=5)
    assert torch.equal(one.search(q, 7)[1], inc.search(q, 7)[1])


def test_interrupted_add_leaves_index_unchanged(tmp_path):
    x = unit(50, 8)
    path = str(tmp_path / 'idx')
    build_index(path, [(x[:40], [str(i) for i in range(40)])], 8)
    idx = SearchIndex.open(path)
    # an add that wrote its rows but died before committing meta.json
    idx.add(x[40:], [str(i) for i in range(40, 50)], flush=False)
    del idx
    again = SearchIndex.open(path)
    assert len(again) == 40 and again.items[39] == '39'
    again.add(x[45:], [str(i) for i in range(45, 50)])
    again = SearchIndex.open(path)
    assert len(again) == 45 and again.items.tolist()[-5:] == \
        ['45', '46', '47', '48', '49']
    np.testing.assert_array_equal(np.asarray(again.vectors)[40:], x[45:])


def test_damaged_and_foreign_indexes(tmp_path):
    x = unit(20, 4)
    path = tmp_path / 'idx'
    build_index(str(path), [(x, list('abcdefghijklmnopqrst'))], 4,
                fingerprint=dict(weights='file:aa', config='bb',
                                 model='M'))
    with pytest.raises(SdtrError, match='built by another model.*weights '
                       'differ.*aa.*cc'):
        SearchIndex.open(str(path), expect_fingerprint=dict(
            weights='file:cc', config='bb', model='M'))
    with pytest.raises(SdtrError, match='index of image items; a text'):
        SearchIndex.open(str(path), kind='text')
    with open(path / 'vectors.f32', 'r+b') as f:
        f.truncate(10)
    with pytest.raises(SdtrError, match='damaged: vectors.f32 has 10 bytes'):
        SearchIndex.open(str(path))
    with pytest.raises(SdtrError, match='not an sdtr index'):
        SearchIndex.open(str(tmp_path))
    with pytest.raises(SdtrError, match='overwrite'):
        SearchIndex.create(str(path), 4)
    with pytest.raises(ValueError, match='dim 5'):
        SearchIndex.create(str(tmp_path / 'x'), 4).add(unit(2, 5), 'ab')


def test_default_params():
    p = default_params('ivfpq', 1_000_000, 512)
    assert p['nlist'] == 1024 and p['m'] == 64 and p['nbits'] == 8
    small = default_params('ivfpq', 3000, 32)
    assert small['nlist'] == 64 and small['nbits'] == 6  # 3000 // 39 = 76
    with pytest.raises(ValueError, match='index_type'):
        default_params('lsh', 10, 8)


@pytest.mark.parametrize('kind', ['hnsw', 'ivfpq'])
def test_approximate_indexes(tmp_path, kind):
    pytest.importorskip('faiss')
    x = unit(4000, 32, centres=40)
    names = [str(i) for i in range(4000)]
    path = str(tmp_path / kind)
    idx = build_index(path, [(x[:3000], names[:3000])], 32,
                      index_type=kind, num=4000, train_sample=x)
    idx.add(x[3000:], names[3000:])  # incremental, no re-training
    idx = SearchIndex.open(path)  # memory-mapped
    assert len(idx) == 4000 and idx.meta['faiss_file'].endswith('.faiss')
    assert len([f for f in os.listdir(path) if f.endswith('.faiss')]) == 1
    q = unit(64, 32, seed=3, centres=40)
    _, exact = topk_search(torch.from_numpy(q), torch.from_numpy(x), 10)
    _, got = idx.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in
                      zip(got.tolist(), exact.tolist())])
    assert recall > 0.8, recall
    # scores of the results are their exact inner products
    s, i = idx.search(q[:2], 5, **({'rerank': 10} if kind == 'ivfpq'
                                     else {}))
    ref = np.einsum('d,kd->k', q[0], x[i[0].numpy()])
    np.testing.assert_allclose(s[0].numpy(), ref, atol=1e-5)


def test_ivfpq_needs_training(tmp_path):
    pytest.importorskip('faiss')
    idx = SearchIndex.create(str(tmp_path / 'i'), 16, index_type='ivfpq',
                             nlist=4, m=4, nbits=4)
    with pytest.raises(RuntimeError, match='not trained'):
        idx.add(unit(5, 16), list('abcde'))
    with pytest.raises(ValueError, match='at least 16 training vectors'):
        idx.train(unit(10, 16))


def test_item_store_offsets(tmp_path):
    store = ItemStore(str(tmp_path), 0, 0)
    for name in ('items.jsonl', 'items.offsets'):
        (tmp_path / name).write_bytes(b'')
    store.append(['a', 'b\nc'])
    store.append(['\u6587'])
    assert (tmp_path / 'items.jsonl').read_bytes().decode() == \
        '"a"\n"b\\nc"\n"\u6587"\n'
    offs = np.fromfile(tmp_path / 'items.offsets', dtype=np.int64)
    assert offs.tolist() == [0, 4, 11]
    fresh = ItemStore(str(tmp_path), store.count, store.nbytes)
    assert fresh.tolist() == ['a', 'b\nc', '\u6587'] and fresh[-1] == '\u6587'
    with pytest.raises(IndexError):
        fresh[3]
    assert json.loads('"b\\nc"') == fresh[1]
