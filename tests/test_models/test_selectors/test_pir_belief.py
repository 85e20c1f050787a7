"""PIR belief strategies: hard (top-K in order) and soft (rank weights in the
paper and the released reading), checked against hand-computed values."""
import math

import pytest
import torch

from sdtr.models.interfaces import Belief, BeliefOutput
from sdtr.models.selectors import HardBelief, SoftBelief
from sdtr.registry import MODELS


def _toy():
    # instruction e1; token logits x_j . y = [0, 2, 1]
    tokens = torch.tensor([[[0., 1.], [2., 0.], [1., 1.]]])
    instruction = torch.tensor([[1., 0.]])
    return tokens, instruction


def test_soft_belief_paper_rank_weights():
    tokens, instr = _toy()
    out, belief, kept = SoftBelief('paper')(tokens, instr)
    assert kept is None  # a soft belief keeps every token
    b = torch.softmax(torch.tensor([0., 2., 1.]), 0)
    torch.testing.assert_close(belief[0], b)
    # descending belief order: token1, token2, token0 -> ranks [2, 0, 1]
    w = torch.tensor([1 / math.sqrt(3), 1., 1 / math.sqrt(2)])
    expect = tokens[0] * (b + w)[:, None]
    expect = expect / expect.norm(dim=1, keepdim=True)  # over channels
    torch.testing.assert_close(out[0], expect)


def test_soft_belief_released_rank_weights():
    tokens, instr = _toy()
    out = SoftBelief('released')(tokens, instr).tokens
    b = torch.softmax(torch.tensor([0., 2., 1.]), 0)
    # argsort(desc) = [1, 2, 0] used position-wise: w_j = 1/sqrt(pi_j + 1)
    w = torch.tensor([1 / math.sqrt(2), 1 / math.sqrt(3), 1.])
    expect = tokens[0] * (b + w)[:, None]
    expect = expect / expect.norm(dim=0, keepdim=True)  # over tokens
    torch.testing.assert_close(out[0], expect)
    paper = SoftBelief('paper')(tokens, instr).tokens
    assert not torch.allclose(out, paper)


def test_soft_belief_batch_and_errors():
    torch.manual_seed(0)
    sb = MODELS.build(dict(type='SoftBelief', rank_mode='released'))
    x, y = torch.randn(3, 50, 16), torch.randn(3, 16)
    out = sb(x, y).tokens
    assert out.shape == x.shape
    # batch rows are independent, B = 1 works
    torch.testing.assert_close(sb(x[1:2], y[1:2]).tokens, out[1:2])
    with pytest.raises(ValueError, match='rank_mode'):
        SoftBelief('bogus')
    with pytest.raises(ValueError, match='instruction must be'):
        sb(x, torch.randn(3, 8))


def test_hard_belief_exact_topk_in_order():
    torch.manual_seed(0)
    x, y = torch.randn(2, 50, 8), torch.randn(2, 8)
    hb = HardBelief(filter_size=40)
    kept, belief, idx = hb(x, y)
    assert kept.shape == (2, 40, 8) and idx.shape == (2, 40)
    for b in range(2):
        scores = (x[b] @ y[b]).tolist()
        expected = sorted(range(50), key=lambda j: -scores[j])[:40]
        assert idx[b].tolist() == expected
        torch.testing.assert_close(kept[b], x[b, expected])
        assert (belief[b][idx[b]].diff() <= 0).all()
        torch.testing.assert_close(belief[b].sum(), torch.tensor(1.))


def test_hard_belief_hand_example_b1():
    tokens, instr = _toy()
    kept, _, idx = HardBelief(filter_size=2)(tokens, instr)
    assert idx.tolist() == [[1, 2]]
    torch.testing.assert_close(kept, tokens[:, [1, 2]])
    assert HardBelief(filter_size=2)(tokens, instr).tokens.shape == (1, 2, 2)


def test_hard_and_soft_share_one_contract():
    """Both implement the Belief interface and return a BeliefOutput, so a
    retriever never branches on the belief type."""
    tokens, instr = _toy()
    for belief in (HardBelief(filter_size=3), SoftBelief('paper')):
        assert isinstance(belief, Belief)
        out = belief(tokens, instr)
        assert isinstance(out, BeliefOutput)
        torch.testing.assert_close(
            out.belief[0], torch.softmax(torch.tensor([0., 2., 1.]), 0))
    # keeping all 3 tokens in belief order = the tokens permuted [1, 2, 0]
    out = HardBelief(filter_size=3)(tokens, instr)
    assert out.kept_indices.tolist() == [[1, 2, 0]]


def test_hard_belief_errors():
    with pytest.raises(ValueError, match='filter_size'):
        HardBelief(filter_size=0)
    tokens, instr = _toy()
    with pytest.raises(ValueError, match='exceeds the number of tokens 3'):
        HardBelief(filter_size=4)(tokens, instr)
