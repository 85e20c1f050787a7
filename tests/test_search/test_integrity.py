"""Index integrity: swapped, overwritten or NaN rows of an index's files are
refused with an error naming the file (never silently searched), checked
lazily per chunk; non-finite features are refused when added."""
import json
import warnings

import numpy as np
import pytest

import sdtr.search.integrity as integrity
from sdtr.search.index import SearchIndex, build_index
from sdtr.utils.errors import SdtrError


def unit(n, d, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(
        np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make(tmp_path, n=64, d=8, index_type='flat', **kw):
    x = unit(n, d)
    names = [f'img_{i:03d}.png' for i in range(n)]
    path = str(tmp_path / index_type)
    build_index(path, [(x, names)], d, index_type=index_type, num=n,
                train_sample=x if index_type == 'ivfpq' else None,
                rows_per_chunk=8, **kw)
    return path, x, names


def swap_rows(path, a, b, row_bytes):
    with open(path, 'r+b') as f:
        f.seek(a * row_bytes)
        ra = f.read(row_bytes)
        f.seek(b * row_bytes)
        rb = f.read(row_bytes)
        f.seek(a * row_bytes)
        f.write(rb)
        f.seek(b * row_bytes)
        f.write(ra)


def test_intact_index_searches(tmp_path):
    path, x, names = make(tmp_path)
    idx = SearchIndex.open(path).verify()
    assert idx.digests.ok.all() and len(idx.digests.ok) == 8
    _, rows = idx.search(x[5], 1)
    assert rows.tolist() == [5] and idx.items[5] == names[5]


@pytest.mark.parametrize('index_type', ['flat', 'ivfpq', 'hnsw'])
def test_swapped_rows_are_refused(tmp_path, index_type):
    if index_type != 'flat':
        pytest.importorskip('faiss')
    path, x, _ = make(tmp_path, n=512, d=16, index_type=index_type,
                      **({'nlist': 4, 'm': 4, 'nbits': 4}
                         if index_type == 'ivfpq' else {}))
    swap_rows(f'{path}/vectors.f32', 3, 4, 16 * 4)
    idx = SearchIndex.open(path)  # opening is cheap: nothing is read
    with pytest.raises(SdtrError, match=r'damaged: rows 0\.\.7 of '
                       r'vectors\.f32 do not match'):
        idx.search(x[3], 5)
    # the error names the index folder and says what to do
    with pytest.raises(SdtrError, match='Rebuild the index'):
        SearchIndex.open(path).verify()


def test_nan_row_is_refused_not_skipped(tmp_path):
    path, x, _ = make(tmp_path)
    vec = np.memmap(f'{path}/vectors.f32', dtype=np.float32, mode='r+',
                    shape=x.shape)
    vec[20] = np.nan
    vec.flush()
    del vec
    with pytest.raises(SdtrError, match=r'rows 16\.\.23 of vectors\.f32 .*'
                       r'rows \[20\] hold NaN or inf'):
        SearchIndex.open(path).search(x[0], 3)


def test_swapped_items_are_refused(tmp_path):
    path, x, names = make(tmp_path)
    text = open(f'{path}/items.jsonl', 'rb').read()
    lines = text.split(b'\n')
    lines[40], lines[41] = lines[41], lines[40]  # same length: offsets hold
    open(f'{path}/items.jsonl', 'wb').write(b'\n'.join(lines))
    idx = SearchIndex.open(path)
    assert idx.items[0] == names[0]  # an intact chunk reads
    with pytest.raises(SdtrError, match=r'rows 40\.\.47 of items\.jsonl'):
        idx.items[41]
    with pytest.raises(SdtrError, match='items.jsonl'):
        idx.search(x[41], 1)  # a flat search checks every chunk


def test_chunks_are_checked_lazily(tmp_path, monkeypatch):
    pytest.importorskip('faiss')
    path, x, _ = make(tmp_path, n=2048, d=16, index_type='ivfpq', nlist=16,
                      m=4, nbits=4)
    calls = []
    real = integrity.short_digest
    monkeypatch.setattr(integrity, 'short_digest',
                        lambda data: calls.append(1) or real(data))
    idx = SearchIndex.open(path)
    assert not calls  # opening hashes nothing
    _, rows = idx.search(x[7], 2, rerank=4)
    touched = len(calls) // 2  # two digests (vectors, items) per chunk
    assert 1 <= touched <= 8 and touched == idx.digests.ok.sum()
    idx.search(x[7], 2, rerank=4)
    assert len(calls) == 2 * touched  # checked once per process
    idx.verify()
    assert idx.digests.ok.all() and len(calls) == 2 * 256


def test_damaged_faiss_file_is_found_by_verify(tmp_path):
    pytest.importorskip('faiss')
    path, x, _ = make(tmp_path, n=256, d=16, index_type='hnsw')
    meta = json.load(open(f'{path}/meta.json'))
    faiss_file = f'{path}/{meta["faiss_file"]}'
    data = bytearray(open(faiss_file, 'rb').read())
    data[-5] ^= 0xFF
    open(faiss_file, 'wb').write(bytes(data))
    with pytest.raises(SdtrError, match=r'index-256-\d+\.faiss does not '
                       'match'):
        SearchIndex.open(path).verify()


def test_non_finite_features_are_refused_at_add(tmp_path):
    x = unit(6, 8)
    x[4, 2] = np.inf
    idx = SearchIndex.create(str(tmp_path / 'i'), 8)
    with pytest.raises(SdtrError, match=r"1 of 6 feature rows hold NaN or "
                       r"inf \(rows \[4\]: \['e.png'\]\)"):
        idx.add(x, ['a.png', 'b.png', 'c.png', 'd.png', 'e.png', 'f.png'])
    assert len(SearchIndex.open(str(tmp_path / 'i'))) == 0


def test_digests_do_not_depend_on_how_rows_were_added(tmp_path):
    x, names = unit(50, 8), [str(i) for i in range(50)]
    one = build_index(str(tmp_path / 'one'), [(x, names)], 8,
                      rows_per_chunk=8)
    inc = SearchIndex.create(str(tmp_path / 'inc'), 8, rows_per_chunk=8)
    for a, b in ((0, 5), (5, 21), (21, 50)):
        inc.add(x[a:b], names[a:b])
    assert inc.meta['digests'] == one.meta['digests']
    assert len(one.meta['digests']['chunks']) == 7 * 2 * integrity.HEX


def test_index_without_digests_opens_with_a_warning(tmp_path):
    path, x, _ = make(tmp_path)
    meta = json.load(open(f'{path}/meta.json'))
    meta.update(format='sdtr-index-v1')
    meta.pop('digests')
    json.dump(meta, open(f'{path}/meta.json', 'w'))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        idx = SearchIndex.open(path)
    assert any('without digests' in str(w.message) for w in caught)
    assert idx.search(x[9], 1)[1].tolist() == [9]
