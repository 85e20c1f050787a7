"""Chunked top-k search and the safetensors gallery."""
import pytest
import torch
import torch.nn.functional as F

from sdtr.search import Gallery, load_gallery, save_gallery, topk_search
from sdtr.search.topk import resolve_block_rows


def _brute(q, g, k):
    s = (q.float() @ g.float().t())
    # reference order: score desc, then index asc (stable sort)
    order = torch.argsort(s, dim=1, descending=True, stable=True)
    return s.gather(1, order)[:, :k], order[:, :k]


@pytest.mark.parametrize('chunk', [None, 1, 7, 100, 1000])
def test_topk_matches_brute_force(chunk):
    torch.manual_seed(0)
    q = F.normalize(torch.randn(5, 32), dim=-1)
    g = F.normalize(torch.randn(523, 32), dim=-1)
    s, i = topk_search(q, g, 10, chunk_size=chunk)
    ref_s, ref_i = _brute(q, g, 10)
    assert torch.equal(i, ref_i)
    assert torch.allclose(s, ref_s, atol=1e-6)
    assert s.dtype == torch.float32 and i.dtype == torch.int64


def test_single_query_and_small_gallery():
    torch.manual_seed(1)
    g = F.normalize(torch.randn(4, 8), dim=-1)
    s, i = topk_search(g[2], g, topk=10)  # k clipped to N
    assert s.shape == (4, ) and int(i[0]) == 2
    assert s[0].item() == pytest.approx(1.0, abs=1e-6)


def test_ties_lowest_index_first_for_any_block_size():
    g = torch.zeros(50, 4)
    g[:, 0] = 1.0
    g[[3, 17, 40], 0] = 2.0
    for chunk in (1, 4, 9, 50):
        s, i = topk_search(torch.tensor([1., 0, 0, 0]), g, 5,
                           chunk_size=chunk)
        assert i.tolist() == [3, 17, 40, 0, 1], chunk
        assert s.tolist() == [2.0, 2.0, 2.0, 1.0, 1.0]


def test_fp16_gallery_stays_fp16():
    torch.manual_seed(2)
    g = F.normalize(torch.randn(300, 16), dim=-1)
    q = g[:3] + 0.01 * torch.randn(3, 16)
    s16, i16 = topk_search(q, g.half(), 1)
    assert i16[:, 0].tolist() == [0, 1, 2]
    assert s16.dtype == torch.float32


def test_bounded_blocks():
    # 1 query: the whole gallery is one block (a single matrix-vector pass)
    assert resolve_block_rows(1, 10**6) == 10**6
    # many queries: the score block respects the byte budget
    rows = resolve_block_rows(1000, 10**6, max_memory=64 * 2**20)
    assert rows * 1000 * 4 <= 64 * 2**20
    assert resolve_block_rows(3, 100, chunk_size=30) == 30


@pytest.mark.parametrize('kwargs,err', [
    (dict(query=torch.randn(2, 3), gallery=torch.randn(4, 5)), 'dim'),
    (dict(query=torch.randn(2, 3), gallery=torch.randn(0, 3)), 'empty'),
    (dict(query=torch.randn(2, 3), gallery=torch.randn(4, 3), topk=0),
     'topk'),
    (dict(query=torch.randn(2, 3), gallery=torch.ones(4, 3,
                                                     dtype=torch.long)),
     'floating'),
])
def test_bad_input(kwargs, err):
    with pytest.raises((ValueError, TypeError), match=err):
        topk_search(**kwargs)


def test_gallery_roundtrip(tmp_path):
    feats = F.normalize(torch.randn(3, 8), dim=-1).half()
    path = str(tmp_path / 'g.safetensors')
    save_gallery(Gallery(feats, ['a.png', 'b.png', 'c.png'], 'image',
                         dict(config='x.py')), path)
    back = load_gallery(path)
    assert torch.equal(back.features, feats)
    assert back.items == ['a.png', 'b.png', 'c.png']
    assert back.kind == 'image' and back.info == dict(config='x.py')


def test_gallery_errors(tmp_path):
    with pytest.raises(ValueError, match='2 item names'):
        Gallery(torch.zeros(3, 2), ['a', 'b'])
    with pytest.raises(FileNotFoundError, match='nope.safetensors'):
        load_gallery(str(tmp_path / 'nope.safetensors'))
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(b'not a safetensors file')
    with pytest.raises(ValueError, match='bad.safetensors'):
        load_gallery(str(bad))
    from safetensors.torch import save_file
    other = str(tmp_path / 'other.safetensors')
    save_file({'features': torch.zeros(2, 2)}, other)
    with pytest.raises(ValueError, match='not an sdtr gallery'):
        load_gallery(other)
