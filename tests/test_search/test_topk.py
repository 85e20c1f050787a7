"""Chunked top-k search and the safetensors gallery."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sdtr.search import topk_search
from sdtr.search.topk import resolve_block_rows, select_topk, sort_ties


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


def test_sort_ties_hand_example():
    s = np.array([[0.5, 0.9, 0.5, 0.9, 0.1]], np.float32)
    i = np.array([[7, 4, 2, 9, -1]])
    s2, i2 = sort_ties(s, i)
    assert i2.tolist() == [[4, 9, 2, 7, -1]]
    assert s2[0, :4].tolist() == [np.float32(0.9)] * 2 + [0.5, 0.5]
    assert s2[0, 4] == -np.inf


def test_select_topk_equals_a_full_sort():
    """The partial selection used after re-ranking keeps the tie rule:
    candidates tied at the cut are taken by increasing id."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        m, k = int(rng.integers(1, 40)), int(rng.integers(1, 12))
        s = rng.integers(0, 4, (5, m)).astype(np.float32)  # many ties
        ids = np.stack([rng.permutation(100)[:m] for _ in range(5)])
        missing = rng.random((5, m)) < 0.1  # FAISS' "no result"
        ids[missing], s[missing] = -1, -np.inf
        got_s, got_i = select_topk(s, ids, k)
        ref_s, ref_i = sort_ties(s, ids)
        np.testing.assert_array_equal(got_i, ref_i[:, :k])
        np.testing.assert_array_equal(got_s, ref_s[:, :k])
