"""Exact retrieval metrics: hand-computed values, references, chunked ==
dense, ties and bad inputs."""
import math

import numpy as np
import pytest
import torch

from sdtr.evaluation.functional import (person_search_metrics,
                                        person_search_metrics_from_features,
                                        rsitr_recall,
                                        rsitr_recall_from_features)
from sdtr.evaluation.functional._common import (dense_positive_ranks,
                                                recall_from_first_ranks)

CHUNKS = [None, 1, (1, 3), (2, 5), (3, 7), (5, 2), (7, 1000), (1000, 4),
          (10**6, 10**6)]


def grid_feats(n, d, gen, scale=8):
    """Features on a dyadic grid: every dot product is exact in float32,
    whatever the kernel, so dense and chunked see identical values."""
    return torch.round(torch.randn(n, d, generator=gen) * scale) / scale


def int_feats(n, d, gen):
    """Small integer features: many exact ties."""
    return torch.randint(-1, 2, (n, d), generator=gen).float()


def make_feats(kind, n, d, gen):
    """``grid``, ``int`` or ``normal`` (unit vectors) features."""
    if kind == 'grid':
        return grid_feats(n, d, gen)
    if kind == 'int':
        return int_feats(n, d, gen)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=gen))


def ref_rsitr(sims, txt2img, topk):
    """Plain numpy min-rank reference (PIR-ITR / LAVIS itm_eval style,
    written from the definition; valid without ties)."""
    sims = np.asarray(sims, dtype=np.float64)
    txt2img = np.asarray(txt2img)
    n_i, n_t = sims.shape
    i2t = np.zeros(n_i)
    for i in range(n_i):
        order = np.argsort(-sims[i])
        own = np.nonzero(txt2img == i)[0]
        i2t[i] = min(np.where(order == t)[0][0] for t in own)
    t2i = np.zeros(n_t)
    for t in range(n_t):
        order = np.argsort(-sims[:, t])
        t2i[t] = np.where(order == txt2img[t])[0][0]
    out = {}
    for k in topk:
        out[f'i2t_R@{k}'] = 100.0 * np.mean(i2t < k)
    for k in topk:
        out[f't2i_R@{k}'] = 100.0 * np.mean(t2i < k)
    out['mR'] = float(np.mean(list(out.values())))
    return out


def ref_irra(sims, qpids, gpids, topk):
    """IRRA formulas evaluated literally on the sorted match matrix
    (written from the definition; valid without ties)."""
    sims = np.asarray(sims, dtype=np.float64)
    order = np.argsort(-sims, axis=1, kind='stable')
    m = (np.asarray(gpids)[order] == np.asarray(qpids)[:, None]).astype(
        np.float64)
    cmc = np.cumsum(m, 1) > 0
    out = {f'R@{k}': 100.0 * cmc[:, k - 1].mean() if k <= m.shape[1] else
           100.0 for k in topk}
    num_rel = m.sum(1)
    tmp = np.cumsum(m, 1) / (np.arange(m.shape[1]) + 1.0) * m
    out['mAP'] = 100.0 * (tmp.sum(1) / num_rel).mean()
    last = m.shape[1] - 1 - np.argmax(m[:, ::-1], 1)
    out['mINP'] = 100.0 * (num_rel / (last + 1.0)).mean()
    # EKLSR's mR: the mean of the R@K
    out['mR'] = float(np.mean([out[f'R@{k}'] for k in topk]))
    return out


def assert_close_dict(a, b, tol=1e-9):
    assert a.keys() == b.keys()
    for k in a:
        assert math.isclose(a[k], b[k], rel_tol=0, abs_tol=tol), (k, a, b)


# --------------------------------------------------------------------------
# RSITR
# --------------------------------------------------------------------------
HAND_SIMS = torch.tensor([
    [0.9, 0.1, 0.8, 0.2, 0.3, 0.4],  # image 0, captions 0, 1
    [0.5, 0.6, 0.3, 0.7, 0.1, 0.2],  # image 1, caption 2
    [0.9, 0.8, 0.7, 0.1, 0.2, 0.3],  # image 2, captions 3, 4, 5
])
HAND_T2I = [0, 0, 1, 2, 2, 2]


def test_rsitr_hand_example():
    # i2t min ranks: img0 -> 0 (caption 0 on top), img1 -> 3 (0.7, 0.6, 0.5
    # above its 0.3), img2 -> 3 (best own 0.3 under 0.9, 0.8, 0.7)
    # t2i ranks: t0 -> 0 (tie 0.9/0.9 with image 2 goes to the GT), t1 -> 2,
    # t2 -> 2, t3 -> 2, t4 -> 1, t5 -> 1
    out = rsitr_recall(HAND_SIMS, HAND_T2I, topk=(1, 2, 5))
    expected = {
        'i2t_R@1': 100 / 3, 'i2t_R@2': 100 / 3, 'i2t_R@5': 100.0,
        't2i_R@1': 100 / 6, 't2i_R@2': 50.0, 't2i_R@5': 100.0,
    }
    expected['mR'] = sum(expected.values()) / 6
    assert list(out) == list(expected)
    assert_close_dict(out, expected, 1e-12)
    assert all(type(v) is float for v in out.values())


def test_rsitr_default_keys_and_tensor_txt2img():
    out = rsitr_recall(HAND_SIMS, torch.tensor(HAND_T2I))
    assert list(out) == [
        'i2t_R@1', 'i2t_R@5', 'i2t_R@10', 't2i_R@1', 't2i_R@5', 't2i_R@10',
        'mR'
    ]
    assert out['i2t_R@10'] == 100.0


def test_rsitr_min_rank_rule_several_captions():
    # image 0's first caption is ranked last, its second first -> hit @1
    sims = torch.tensor([[0.0, 0.9, 0.5, 0.4], [0.8, 0.1, 0.7, 0.6]])
    out = rsitr_recall(sims, [0, 0, 1, 1], topk=(1, ))
    # image 1: own captions 2 (0.7), 3 (0.6); caption 0 (0.8) above -> rank 1
    assert out['i2t_R@1'] == 50.0
    # t2i: t0 gt img0 0.0 < 0.8 miss; t1 hit; t2 hit (0.7 > 0.5);
    # t3 hit (0.6 > 0.4)
    assert out['t2i_R@1'] == 75.0


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_rsitr_matches_lavis_style_reference(seed):
    gen = torch.Generator().manual_seed(seed)
    n_i, n_t = 17, 61
    sims = torch.rand(n_i, n_t, generator=gen)
    t2i = torch.cat([torch.arange(n_i),
                     torch.randint(0, n_i, (n_t - n_i, ), generator=gen)])
    t2i = t2i[torch.randperm(n_t, generator=gen)]
    topk = (1, 3, 5, 10)
    assert_close_dict(rsitr_recall(sims, t2i, topk), ref_rsitr(sims, t2i,
                                                               topk))


@pytest.mark.parametrize('seed', [0, 1])
@pytest.mark.parametrize('kind', ['grid', 'int', 'normal'])
def test_rsitr_chunked_equals_dense(seed, kind):
    gen = torch.Generator().manual_seed(seed)
    n_i, n_t, d = 23, 97, 12
    img, txt = make_feats(kind, n_i, d, gen), make_feats(kind, n_t, d, gen)
    t2i = torch.cat([torch.arange(n_i),
                     torch.randint(0, n_i, (n_t - n_i, ), generator=gen)])
    t2i = t2i[torch.randperm(n_t, generator=gen)]
    dense = rsitr_recall(img @ txt.T, t2i, topk=(1, 2, 5, 10))
    for chunk in CHUNKS:
        assert rsitr_recall_from_features(
            img, txt, t2i, topk=(1, 2, 5, 10), chunk_size=chunk) == dense
    for budget in (8, 100, 10**4):
        assert rsitr_recall_from_features(
            img, txt, t2i, topk=(1, 2, 5, 10), max_memory=budget) == dense
    # fp16 / float64 inputs are computed in float32
    if kind != 'normal':
        assert rsitr_recall_from_features(img.double(), txt.double(),
                                          t2i, (1, 2, 5, 10), (3, 7)) == dense


def test_rsitr_ties_go_to_ground_truth():
    # every similarity is equal: all ground truths win their ties
    img = torch.ones(3, 2)
    txt = torch.ones(5, 2)
    t2i = [0, 1, 2, 2, 0]
    expected = {k: 100.0 for k in ['i2t_R@1', 't2i_R@1', 'mR']}
    assert rsitr_recall(img @ txt.T, t2i, topk=1) == expected
    for chunk in CHUNKS:
        assert rsitr_recall_from_features(img, txt, t2i, 1, chunk) == \
            expected
    # a tie with a wrong item counts for the GT, a strictly greater one not
    img = torch.tensor([[1., 0.], [1., 0.]])
    txt = torch.tensor([[1., 0.], [2., 0.]])  # t1 (img1) beats t0 for img0
    dense = rsitr_recall(img @ txt.T, [0, 1], topk=1)
    # img0: own 1 < 2 -> miss; img1: own 2 top -> hit;
    # t0: both images 1 -> tie -> hit; t1: both 2 -> tie -> hit
    assert dense == {'i2t_R@1': 50.0, 't2i_R@1': 100.0, 'mR': 75.0}
    for chunk in CHUNKS:
        assert rsitr_recall_from_features(img, txt, [0, 1], 1, chunk) == dense


def test_rsitr_bad_inputs():
    sims = torch.rand(3, 4)
    with pytest.raises(ValueError, match='no caption'):
        rsitr_recall(sims, [0, 0, 1, 1])  # image 2 has no caption
    with pytest.raises(ValueError, match='no caption'):
        rsitr_recall_from_features(torch.rand(3, 2), torch.rand(4, 2),
                                   [0, 0, 1, 1])
    with pytest.raises(ValueError, match='in \\[0, 3\\)'):
        rsitr_recall(sims, [0, 1, 2, 3])
    with pytest.raises(ValueError, match='entries'):
        rsitr_recall(sims, [0, 1, 2])
    with pytest.raises(TypeError):
        rsitr_recall(sims, [0.0, 1.0, 2.0, 2.0])
    bad = sims.clone()
    bad[0, 0] = float('nan')
    with pytest.raises(ValueError, match='NaN'):
        rsitr_recall(bad, [0, 1, 2, 2])
    with pytest.raises(ValueError, match='NaN'):
        rsitr_recall_from_features(
            torch.tensor([[float('inf'), 0.]]), torch.rand(1, 2), [0])
    with pytest.raises(ValueError, match='topk'):
        rsitr_recall(sims, [0, 1, 2, 2], topk=(0, 1))
    with pytest.raises(ValueError, match='duplicate'):
        rsitr_recall(sims, [0, 1, 2, 2], topk=(1, 1))
    with pytest.raises(ValueError, match='2-D'):
        rsitr_recall(torch.rand(3), [0, 1, 2])
    with pytest.raises(ValueError, match='widths'):
        rsitr_recall_from_features(torch.rand(3, 2), torch.rand(3, 4),
                                   [0, 1, 2])
    with pytest.raises(ValueError, match='chunk_size'):
        rsitr_recall_from_features(torch.rand(3, 2), torch.rand(3, 2),
                                   [0, 1, 2], chunk_size=(0, 2))


# --------------------------------------------------------------------------
# person search
# --------------------------------------------------------------------------
P_SIMS = torch.tensor([
    [0.2, 0.9, 0.8, 0.1, 0.5],  # query pid 0
    [0.7, 0.6, 0.5, 0.4, 0.3],  # query pid 1
    [0.1, 0.2, 0.3, 0.4, 0.35],  # query pid 2
])
P_QPIDS = [0, 1, 2]
P_GPIDS = [0, 0, 1, 1, 2]


def test_person_hand_example():
    # q0: relevant at ranks 0, 3 -> AP (1/1 + 2/4)/2 = .75, INP 2/4
    # q1: relevant at ranks 2, 3 -> AP (1/3 + 2/4)/2, INP 2/4
    # q2: relevant at rank 1     -> AP 1/2, INP 1/2
    out = person_search_metrics(P_SIMS, P_QPIDS, P_GPIDS, topk=(1, 2, 5))
    expected = {
        'R@1': 100 / 3,
        'R@2': 200 / 3,
        'R@5': 100.0,
        'mAP': 100 * (0.75 + (1 / 3 + 0.5) / 2 + 0.5) / 3,
        'mINP': 50.0,
        'mR': (100 / 3 + 200 / 3 + 100) / 3,
    }
    assert list(out) == list(expected)
    assert_close_dict(out, expected, 1e-12)
    assert_close_dict(out, ref_irra(P_SIMS, P_QPIDS, P_GPIDS, (1, 2, 5)))


def test_person_default_keys():
    out = person_search_metrics(P_SIMS, P_QPIDS, P_GPIDS)
    assert list(out) == ['R@1', 'R@5', 'R@10', 'mAP', 'mINP', 'mR']
    assert out['R@10'] == 100.0


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_person_matches_irra_reference(seed):
    gen = torch.Generator().manual_seed(seed)
    n_q, n_g, n_id = 40, 30, 7
    gp = torch.cat([torch.arange(n_id),
                    torch.randint(0, n_id, (n_g - n_id, ), generator=gen)])
    qp = torch.randint(0, n_id, (n_q, ), generator=gen)
    sims = torch.rand(n_q, n_g, generator=gen)
    topk = (1, 3, 5, 10)
    assert_close_dict(
        person_search_metrics(sims, qp, gp, topk),
        ref_irra(sims, qp, gp, topk))


@pytest.mark.parametrize('seed', [0, 1])
@pytest.mark.parametrize('kind', ['grid', 'int', 'normal'])
def test_person_chunked_equals_dense(seed, kind):
    gen = torch.Generator().manual_seed(seed)
    n_q, n_g, d, n_id = 53, 29, 10, 6
    q, g = make_feats(kind, n_q, d, gen), make_feats(kind, n_g, d, gen)
    # identities with 1..many gallery items (several images per identity)
    gp = torch.cat([torch.arange(n_id),
                    torch.randint(0, 3, (n_g - n_id, ), generator=gen)]) + 10
    qp = torch.randint(0, n_id, (n_q, ), generator=gen) + 10
    topk = (1, 2, 5, 10)
    dense = person_search_metrics(q @ g.T, qp, gp, topk)
    for chunk in CHUNKS:
        assert person_search_metrics_from_features(q, g, qp, gp, topk,
                                                   chunk) == dense
    assert person_search_metrics_from_features(
        q, g, qp, gp, topk, max_memory=200) == dense
    # i2t direction: images as queries, captions as gallery
    dense_i2t = person_search_metrics(g @ q.T, gp, qp, topk) if set(
        gp.tolist()) <= set(qp.tolist()) else None
    if dense_i2t is not None:
        for chunk in CHUNKS[:5]:
            assert person_search_metrics_from_features(
                g, q, gp, qp, topk, chunk) == dense_i2t


def test_person_ties_go_to_relevant():
    # q0 relevant g0 ties with irrelevant g1 -> rank 0
    # q1 (pid 1): relevant g1 (0.5), g2 (0.5) tie with g0 (0.5) -> ranks 0, 1
    sims = torch.tensor([[0.5, 0.5, 0.1], [0.5, 0.5, 0.5]])
    out = person_search_metrics(sims, [0, 1], [0, 1, 1], topk=(1, ))
    assert out == {'R@1': 100.0, 'mAP': 100.0, 'mINP': 100.0, 'mR': 100.0}
    # same with features (exact integer products)
    q = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])
    g = torch.tensor([[1., 0.], [1., 1.], [1., 0.], [2., 0.]])
    qp, gp = [0, 1, 0], [0, 1, 1, 2]
    dense = person_search_metrics(q @ g.T, qp, gp, topk=(1, 2, 3))
    # q0 sims [1,1,1,2]: g3 above -> relevant g0 at rank 1 -> AP .5 INP .5
    # q1 sims [0,1,0,0]: g1 top -> AP 1; relevant g2 (0) ties g0,g3 -> rank 1
    #   -> AP (1 + 2/2)/2 = 1, INP 2/2 = 1
    # q2 sims [1,2,1,2]: g0 ties g2 but g1, g3 above -> rank 2: AP 1/3
    assert_close_dict(dense, {
        'R@1': 100 / 3, 'R@2': 200 / 3, 'R@3': 100.0,
        'mAP': 100 * (0.5 + 1 + 1 / 3) / 3, 'mINP': 100 * (0.5 + 1 + 1 / 3) / 3,
        'mR': (100 / 3 + 200 / 3 + 100) / 3
    }, 1e-12)
    for chunk in CHUNKS:
        assert person_search_metrics_from_features(q, g, qp, gp, (1, 2, 3),
                                                   chunk) == dense


def test_person_bad_inputs():
    with pytest.raises(ValueError, match='no gallery item'):
        person_search_metrics(P_SIMS, [0, 1, 3], P_GPIDS)
    with pytest.raises(ValueError, match='no gallery item'):
        person_search_metrics_from_features(torch.rand(3, 2),
                                            torch.rand(5, 2), [0, 1, 3],
                                            P_GPIDS)
    with pytest.raises(ValueError, match='entries'):
        person_search_metrics(P_SIMS, [0, 1], P_GPIDS)
    with pytest.raises(TypeError):
        person_search_metrics(P_SIMS, [0., 1., 2.], P_GPIDS)
    with pytest.raises(ValueError, match='widths'):
        person_search_metrics_from_features(torch.rand(3, 2),
                                            torch.rand(5, 3), P_QPIDS,
                                            P_GPIDS)
    with pytest.raises(TypeError, match='floating'):
        person_search_metrics(P_SIMS.long(), P_QPIDS, P_GPIDS)


# --------------------------------------------------------------------------
# multi-positive recall rule (mmpretrain RetrievalRecall docstring example)
# --------------------------------------------------------------------------
def test_mmpretrain_docstring_example_any_positive_rule():
    # y_pred top-1 = [[0], [1], [2], [3]], y_true = [[0, 1], [2], [1], [0, 3]]
    # -> Recall@1 = 50.0 (a query is a hit if ANY target is retrieved)
    sims = torch.eye(4) + 0.01 * torch.arange(4.).flip(0)
    pos = torch.zeros(4, 4, dtype=torch.bool)
    for q, targets in enumerate([[0, 1], [2], [1], [0, 3]]):
        pos[q, targets] = True
    ranks, num_pos = dense_positive_ranks(sims, pos)
    assert recall_from_first_ranks(ranks[:, 0], (1, )) == (50.0, )
    # the same rule through the public i2t metric: image 0 has captions
    # {0, 1}; its top caption is 0 -> hit; image 1 has caption {2} but
    # caption 1 on top -> miss
    sims = torch.tensor([[0.9, 0.1, 0.0], [0.0, 0.9, 0.5]])
    assert rsitr_recall(sims, [0, 0, 1], topk=1)['i2t_R@1'] == 50.0


@pytest.mark.parametrize('kind', ['grid', 'int', 'normal'])
def test_gpu_style_accumulation_equals_dense(monkeypatch, kind):
    """The GPU code path (bool indicators summed in int64, 8 thresholds per
    comparison) run on the CPU: the same exact metrics as the dense ones."""
    from sdtr.evaluation.functional import _common, person_search, rsitr

    def bool_buffer(cells, device):
        return torch.empty(cells, dtype=torch.bool, device=device)

    for mod in (rsitr, person_search):
        monkeypatch.setattr(mod, 'work_buffer', bool_buffer)
        monkeypatch.setattr(mod, 'count_dtype',
                            lambda n, device=None: torch.int64)
    monkeypatch.setattr(person_search, '_SLOTS', dict(cpu=8, cuda=8))
    assert _common.work_buffer(4, torch.device('cpu')).dtype == torch.float32
    gen = torch.Generator().manual_seed(3)
    n_i, n_t, d = 19, 83, 9
    img, txt = make_feats(kind, n_i, d, gen), make_feats(kind, n_t, d, gen)
    t2i = torch.cat([torch.arange(n_i),
                     torch.randint(0, n_i, (n_t - n_i, ), generator=gen)])
    dense = rsitr_recall(img @ txt.T, t2i, topk=(1, 2, 5, 10))
    for chunk in CHUNKS[::2]:
        assert rsitr_recall_from_features(img, txt, t2i, (1, 2, 5, 10),
                                          chunk) == dense
    # identities with up to ~20 relevant items: several 8-threshold groups
    gp = torch.randint(0, 4, (n_t, ), generator=gen)
    qp = torch.randint(0, 4, (n_i, ), generator=gen)
    dense_p = person_search_metrics(img @ txt.T, qp, gp, (1, 5, 10))
    for chunk in CHUNKS[::2]:
        assert person_search_metrics_from_features(img, txt, qp, gp,
                                                   (1, 5, 10),
                                                   chunk) == dense_p
