"""EKLSR eq. 3-4: polynomial (multinomial) selection of key locals."""
import pytest
import torch

from sdtr.models.selectors import KeyLocalSelector


def test_num_selected_ceil_and_bounds():
    sel = KeyLocalSelector(ratio=0.3)
    n = torch.tensor([0, 1, 3, 10, 11, 196])
    # ceil(0.3 n), at least 1 when n > 0, never more than n; 0.3 * 10 -> 3
    assert sel.num_selected(n).tolist() == [0, 1, 1, 3, 4, 59]
    assert KeyLocalSelector(ratio=0.55).num_selected(
        torch.tensor([192, 7])).tolist() == [106, 4]
    assert KeyLocalSelector(ratio=1.0).num_selected(
        torch.tensor([5])).tolist() == [5]


@pytest.mark.parametrize('mode', ['polynomial', 'random', 'topk'])
def test_selection_counts_no_duplicates_lengths(mode):
    torch.manual_seed(0)
    B, N = 64, 12
    lengths = torch.randint(0, N + 1, (B, ))
    valid = torch.arange(N)[None] < lengths[:, None]
    scores = torch.rand(B, N) * 2 * valid
    sel = KeyLocalSelector(ratio=0.5, mode=mode)
    mask = sel(scores, valid)
    assert mask.dtype == torch.bool and mask.shape == (B, N)
    # a boolean mask cannot hold duplicates; its count is exactly k per row
    assert torch.equal(mask.sum(1), sel.num_selected(valid.sum(1)))
    assert not (mask & ~valid).any(), 'selected padding / special tokens'


def test_polynomial_frequency_proportional_to_importance():
    """One draw per row (k = 1): P(i) = s_i / sum_j s_j exactly."""
    torch.manual_seed(0)
    draws = 40000
    s = torch.tensor([1., 2., 3., 4., 0., 5.])
    valid = torch.tensor([True] * 5 + [False])  # the 5.0 is padding
    sel = KeyLocalSelector(ratio=0.1)  # ceil(0.1 * 5) = 1
    mask = sel(s.expand(draws, -1), valid.expand(draws, -1))
    freq = mask.float().mean(0)
    expected = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.0, 0.0])
    # 4 sigma of a binomial with p <= 0.4 over 40000 draws is < 0.01
    assert torch.allclose(freq, expected, atol=0.01), freq
    assert freq[5] == 0  # never the invalid position


def test_polynomial_inclusion_without_replacement():
    """k = 2 successive draws: pi_i = p_i + sum_j p_j p_i / (1 - p_j)."""
    torch.manual_seed(1)
    draws = 40000
    p = torch.tensor([0.1, 0.2, 0.3, 0.4])
    sel = KeyLocalSelector(ratio=0.5)  # k = 2 of 4
    mask = sel((2 * p).expand(draws, -1))  # proportional, not normalised
    pi = torch.stack([
        p[i] + sum(p[j] * p[i] / (1 - p[j]) for j in range(4) if j != i)
        for i in range(4)
    ])
    assert torch.allclose(mask.float().mean(0), pi, atol=0.012)
    assert torch.allclose(pi.sum(), torch.tensor(2.))


def test_zero_importance_still_drawn_when_needed():
    s = torch.tensor([[0., 0., 1.]])
    mask = KeyLocalSelector(ratio=1.0)(s)
    assert mask.all()


def test_topk_and_random_modes():
    s = torch.tensor([[0.1, 0.9, 0.5, 0.7, 0.2]])
    assert KeyLocalSelector(ratio=0.4, mode='topk')(s).tolist() == [[
        False, True, False, True, False]]
    torch.manual_seed(0)
    draws = 20000
    mask = KeyLocalSelector(ratio=0.2, mode='random')(s.expand(draws, -1))
    # uniform, whatever the importance
    assert torch.allclose(mask.float().mean(0), torch.full((5, ), 0.2),
                          atol=0.015)


def test_eval_mode_switch():
    torch.manual_seed(0)
    s = torch.rand(16, 20)
    sel = KeyLocalSelector(ratio=0.3).eval()
    a, b = sel(s), sel(s)
    assert torch.equal(a, b)
    top = s.topk(6, dim=1).indices
    assert torch.equal(a, torch.zeros_like(a).scatter_(1, top, True))
    sampling = KeyLocalSelector(ratio=0.3, eval_mode='sample').eval()
    assert not torch.equal(sampling(s), sampling(s))
    train = KeyLocalSelector(ratio=0.3).train()
    assert not torch.equal(train(s), train(s))


def test_random_row_is_evaluated_with_its_own_rule():
    """Table 6 "random": eval keeps a fixed random subset, not top-k."""
    torch.manual_seed(0)
    s = torch.rand(64, 40)
    valid = torch.ones_like(s, dtype=torch.bool)
    valid[:, 30:] = False  # e.g. padding after 30 words
    rnd = KeyLocalSelector(ratio=0.25, mode='random').eval()
    assert rnd.eval_mode == 'auto'
    a = rnd(s, valid)
    k = 8  # ceil(0.25 * 30)
    assert (a.sum(1) == k).all() and not (a & ~valid).any()
    # not importance top-k ...
    top = KeyLocalSelector(ratio=0.25, mode='topk').eval()(s, valid)
    assert not torch.equal(a, top)
    # ... but the same fixed positions for every sample, independent of the
    # scores, the batch and its order, the global RNG, the call
    assert (a == a[0]).all()
    torch.manual_seed(123)
    b = KeyLocalSelector(ratio=0.25, mode='random').eval()(
        s[:3].flip(0) * 7, valid[:3])
    assert (b == a[0]).all()
    # the kept positions are a uniform draw: over eval seeds, every valid
    # position is kept about k/30 of the time
    freq = torch.stack([
        KeyLocalSelector(ratio=0.25, mode='random', eval_seed=seed).eval()(
            s[:1], valid[:1])[0] for seed in range(600)]).float().mean(0)
    assert torch.allclose(freq[:30], torch.full((30, ), k / 30), atol=0.07)
    assert (freq[30:] == 0).all()
    # training still draws fresh subsets
    rnd.train()
    assert not torch.equal(rnd(s, valid), rnd(s, valid))


def test_fixed_polynomial_and_forced_modes():
    torch.manual_seed(0)
    s = torch.rand(8, 20)
    # polynomial + 'auto' = top-k (unchanged default)
    auto = KeyLocalSelector(ratio=0.3).eval()
    top = s.topk(6, dim=1).indices
    assert torch.equal(auto(s), torch.zeros(8, 20, dtype=torch.bool).scatter_(
        1, top, True))
    # polynomial + 'fixed': deterministic, importance-dependent Gumbel-top-k
    fixed = KeyLocalSelector(ratio=0.3, eval_mode='fixed').eval()
    a = fixed(s)
    assert torch.equal(a, fixed(s)) and (a.sum(1) == 6).all()
    g = torch.rand(20, generator=torch.Generator().manual_seed(0))
    keys = torch.log(s / s.sum(1, keepdim=True)) - torch.log(-torch.log(g))
    assert torch.equal(a, torch.zeros_like(a).scatter_(
        1, keys.topk(6, dim=1).indices, True))
    # 'topk' forces importance top-k even for the random mode
    forced = KeyLocalSelector(ratio=0.3, mode='random',
                              eval_mode='topk').eval()
    assert torch.equal(forced(s), auto(s))


def test_bad_arguments():
    with pytest.raises(ValueError, match='mode'):
        KeyLocalSelector(ratio=0.3, mode='greedy')
    with pytest.raises(ValueError, match='eval_mode'):
        KeyLocalSelector(ratio=0.3, eval_mode='mean')
    with pytest.raises(ValueError, match='ratio'):
        KeyLocalSelector(ratio=0.)
    sel = KeyLocalSelector(ratio=0.3)
    with pytest.raises(ValueError, match='scores'):
        sel(torch.rand(3))
    with pytest.raises(ValueError, match='valid_mask'):
        sel(torch.rand(2, 3), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='>= 0'):
        sel(torch.tensor([[0.5, -0.1]]))
