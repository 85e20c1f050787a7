"""The FAISS side of an index: no prefetch threads on a memory-mapped IVF
index, exact re-scoring straight from the vectors, IVF-PQ with L2 cells
returning inner products."""
import numpy as np
import pytest

from sdtr.search.faiss_ops import rescore
from sdtr.search.index import SearchIndex, build_index

faiss = pytest.importorskip('faiss')


def unit(n, d, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(
        np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope='module')
def ivfpq(tmp_path_factory):
    x = unit(2000, 16)
    path = str(tmp_path_factory.mktemp('ivf') / 'idx')
    build_index(path, [(x, [str(i) for i in range(2000)])], 16,
                index_type='ivfpq', num=2000, train_sample=x, nlist=8, m=4,
                nbits=6)
    return path, x


def test_memory_mapped_ivf_starts_no_prefetch_threads(ivfpq):
    idx = SearchIndex.open(ivfpq[0])
    idx.search(ivfpq[1][0], 3)
    lists = faiss.downcast_InvertedLists(
        faiss.extract_index_ivf(idx._faiss_index).invlists)
    assert type(lists).__name__ == 'OnDiskInvertedLists'  # memory-mapped
    assert lists.prefetch_nthread == 0


def test_rescore_reads_the_rows_it_is_given():
    x = unit(50, 8)
    q = unit(3, 8, seed=1)
    ids = np.array([[4, 9, -1], [0, 49, 7], [3, 3, 20]])
    got = rescore(q, ids, x)
    want = np.einsum('qd,qkd->qk', q, x[np.maximum(ids, 0)])
    np.testing.assert_allclose(got[ids >= 0], want[ids >= 0], atol=1e-6)
    assert got[0, 2] == -np.inf


def test_l2_cells_return_inner_products(ivfpq):
    path, x = ivfpq
    idx = SearchIndex.open(path)
    assert idx._faiss_for_search().metric_type == faiss.METRIC_L2
    q = unit(4, 16, seed=3)
    s, i = idx.search(q, 5, rerank=1)  # FAISS' own (PQ) scores
    exact = np.einsum('qd,qkd->qk', q, x[i.numpy()])
    assert np.abs(s.numpy() - exact).max() < 0.25  # 1 - |q - x|^2 / 2
    assert (np.diff(s.numpy(), axis=1) <= 0).all()
    s, i = idx.search(q, 5)  # re-scored: exact
    np.testing.assert_allclose(
        s.numpy(), np.einsum('qd,qkd->qk', q, x[i.numpy()]), atol=1e-5)
