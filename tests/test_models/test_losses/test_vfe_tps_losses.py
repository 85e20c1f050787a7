"""IS-GVFC (VFE-TPS eq. 4-5), the ablation's ID/triplet calibration and
CMPM (eq. 6-9, both variants) against hand-computed values."""
import math

import pytest
import torch
import torch.nn.functional as F

from sdtr.registry import MODELS


class _Scaled:
    """An ``ISGVFCLoss`` called with the model's scale ``1 / tau``."""

    def __init__(self, tau, **cfg):
        self.loss = MODELS.build(dict(type='ISGVFCLoss', **cfg))
        self.scale = torch.tensor(1 / tau)

    def __call__(self, *args, **kwargs):
        return self.loss(*args, logit_scale=self.scale, **kwargs)

    def __getattr__(self, name):
        return getattr(self.loss, name)


def kl_row(logits, q, eps=1e-8):
    z = math.log(sum(math.exp(x) for x in logits))
    p = [math.exp(x - z) for x in logits]
    return sum(pj * (math.log(pj) - math.log(qj + eps))
               for pj, qj in zip(p, q))


def test_isgvfc_hand_computed_with_singleton_identity():
    # f1=(1,0) f2=(0,1) f3=(1,0) f4=(0,1); pids 0,0,1,2 (1 and 2 appear once)
    feats = torch.tensor([[1., 0.], [0., 1.], [2., 0.], [0., 3.]])
    pids = torch.tensor([0, 0, 1, 2])
    cos = [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
    q = [[.5, .5, 0, 0], [.5, .5, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    tau = 0.5
    expected = sum(kl_row([c / tau for c in r], qr)
                   for r, qr in zip(cos, q)) / 4
    loss = _Scaled(tau, num_samples=None)
    assert loss(feats, pids).item() == pytest.approx(expected, rel=1e-5)
    # singleton identity: the target is the one-hot on itself, so the row is
    # sum_j p_j log p_j - p_i log(1 + eps) - sum_{j != i} p_j log eps
    row3 = kl_row([c / tau for c in cos[2]], q[2])
    z = sum(math.exp(c / tau) for c in cos[2])
    p3 = [math.exp(c / tau) / z for c in cos[2]]
    by_hand = sum(pj * math.log(pj) for pj in p3) - p3[2] * math.log1p(
        1e-8) - sum(pj for j, pj in enumerate(p3) if j != 2) * math.log(1e-8)
    assert row3 == pytest.approx(by_hand, rel=1e-6)
    one = _Scaled(tau, num_samples=None)
    # row 3 alone (4 rows averaged): remove the other rows' contributions
    rows = [kl_row([c / tau for c in r], qr) for r, qr in zip(cos, q)]
    assert one(feats, pids).item() * 4 - sum(rows[:2]) - rows[3] == \
        pytest.approx(by_hand, rel=1e-4)
    # C = 4 out of a larger batch uses exactly the sampled rows
    big = torch.cat([feats, torch.randn(6, 2)])
    big_pids = torch.cat([pids, torch.arange(10, 16)])
    loss4 = _Scaled(tau, num_samples=4)
    assert loss4(big, big_pids, index=torch.arange(4)).item() == \
        pytest.approx(expected, rel=1e-5)
    assert loss4.sample(10).shape == (4, )
    assert len(set(loss4.sample(10).tolist())) == 4
    assert loss4.sample(3).tolist() == [0, 1, 2]


def test_isgvfc_identity_aware_features_score_lower():
    loss = _Scaled(0.1, num_samples=None)
    pids = torch.tensor([0, 0, 1, 1])
    good = torch.tensor([[1., 0.], [1., .1], [0., 1.], [.1, 1.]])
    bad = torch.tensor([[1., 0.], [0., 1.], [1., .1], [.1, 1.]])
    assert loss(good, pids) < loss(bad, pids)
    feats = bad.clone().requires_grad_(True)
    loss(feats, pids).backward()
    assert feats.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='labels'):
        loss(good, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='num_samples'):
        _Scaled(0.02, num_samples=1)


def test_isgvfc_logs_fraction_of_rows_with_a_partner():
    loss = _Scaled(0.02, num_samples=None)
    feats = torch.randn(4, 3)
    loss(feats, torch.tensor([0, 0, 1, 2]))
    assert loss.log_vars['pos_frac'].item() == 0.5  # rows 0 and 1
    loss(feats, torch.tensor([0, 1, 2, 3]))
    assert loss.log_vars['pos_frac'].item() == 0.0
    # only the sampled rows count
    loss4 = _Scaled(0.02, num_samples=2)
    loss4(feats, torch.tensor([5, 5, 5, 7]), index=torch.tensor([0, 3]))
    assert loss4.log_vars['pos_frac'].item() == 0.0
    loss4(feats, torch.tensor([5, 5, 5, 7]), index=torch.tensor([0, 2]))
    assert loss4.log_vars['pos_frac'].item() == 1.0


def test_isgvfc_bounded_memory_joins_same_identity_features():
    tau = 0.5
    mem = _Scaled(tau, num_samples=None, memory_size=3)
    assert mem.state_dict() == {}  # never in checkpoints
    first = torch.tensor([[1., 0.], [0., 1.]])
    mem(first, torch.tensor([0, 1]))  # memory: (f0, pid 0), (f1, pid 1)
    assert mem.memory_labels[:2].tolist() == [0, 1]
    cur = torch.tensor([[0.6, 0.8], [-1., 0.]], requires_grad=True)
    out = mem(cur, torch.tensor([0, 2]))
    # rows/columns = the 2 current features + the stored pid-0 feature
    # (pid 1 is not in the batch, so its entry stays out)
    x = torch.tensor([[0.6, 0.8], [-1., 0.], [1., 0.]])
    cos = (x @ x.t()).tolist()
    q = [[.5, 0, .5], [0, 1, 0], [.5, 0, .5]]
    expected = sum(kl_row([c / tau for c in r], qr)
                   for r, qr in zip(cos, q)) / 3
    assert out.item() == pytest.approx(expected, rel=1e-5)
    assert mem.log_vars['pos_frac'].item() == 0.5
    out.backward()
    assert cur.grad.abs().sum() > 0
    # first-in first-out, bounded: 4 pushed into 3 slots -> f0 is gone
    assert sorted(mem.memory_labels.tolist()) == [0, 1, 2]
    mem(torch.randn(2, 2), torch.tensor([0, 9]))
    assert sorted(mem.memory_labels.tolist()) == [0, 2, 9]
    assert not any(torch.equal(f, first[0]) for f in mem.memory_feats)
    # eval mode does not write; reset empties
    mem.eval()
    mem(torch.randn(2, 2), torch.tensor([4, 4]))
    assert sorted(mem.memory_labels.tolist()) == [0, 2, 9]
    mem.reset_memory()
    assert mem.memory_labels is None
    # memory_size=0 (default) is the batch-only loss of the paper
    plain = _Scaled(tau, num_samples=None)
    plain(first, torch.tensor([0, 1]))
    assert plain(cur, torch.tensor([0, 2])).item() == pytest.approx(
        (kl_row([1 / tau, -0.6 / tau], [1, 0]) +
         kl_row([-0.6 / tau, 1 / tau], [0, 1])) / 2, rel=1e-5)
    with pytest.raises(ValueError, match='memory_size'):
        _Scaled(0.02, memory_size=-1)


def test_identity_triplet_batch_hard():
    feats = torch.tensor([[1., 0.], [0.6, 0.8], [0., 1.], [-1., 0.]])
    pids = torch.tensor([0, 0, 1, 2])
    loss = MODELS.build(dict(type='IdentityTripletLoss', margin=0.3))
    d = torch.cdist(feats, feats)  # already unit vectors
    # anchors with a positive: 0 and 1
    a0 = max(0., d[0, 1] + 0.3 - min(d[0, 2], d[0, 3]))
    a1 = max(0., d[1, 0] + 0.3 - min(d[1, 2], d[1, 3]))
    assert loss(feats, pids).item() == pytest.approx(float(a0 + a1) / 2,
                                                     rel=1e-5)
    assert loss.log_vars['pos_frac'].item() == 0.5  # anchors 0 and 1
    soft = MODELS.build(dict(type='IdentityTripletLoss', margin=None))
    s0 = math.log1p(math.exp(d[0, 1] - min(d[0, 2], d[0, 3])))
    s1 = math.log1p(math.exp(d[1, 0] - min(d[1, 2], d[1, 3])))
    assert soft(feats, pids).item() == pytest.approx((s0 + s1) / 2,
                                                     rel=1e-5)
    # no anchor with a positive: zero, still differentiable
    x = torch.randn(3, 2, requires_grad=True)
    out = loss(x, torch.tensor([0, 1, 2]))
    assert out.item() == 0.0
    out.backward()


def test_visual_id_loss_is_image_only_cross_entropy():
    torch.manual_seed(0)
    loss = MODELS.build(dict(type='VisualIDLoss', in_channels=4,
                             num_classes=3))
    feats = torch.randn(5, 4)
    pids = torch.tensor([0, 1, 2, 1, 0])
    expected = F.cross_entropy(loss.classifier(feats), pids)
    assert loss(feats, pids).item() == pytest.approx(expected.item())
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        loss(feats, torch.tensor([0, 1, 2, 3, 0]))


def _irra_cmpm_literal(v, t, pids, eps=1e-8):
    """IRRA ``compute_cmpm`` (docs/methods/irra_clip.md#6-cmpm-as-coded; labels
    divided by the row L2 norm broadcast over columns)."""
    y = (pids[:, None] == pids[None, :]).float()
    q = y / y.norm(dim=1)  # no keepdim: divides column j by ||y_j||
    pi2t = v @ F.normalize(t, dim=1).t()
    pt2i = t @ F.normalize(v, dim=1).t()
    li = (F.softmax(pi2t, 1) * (F.log_softmax(pi2t, 1) - torch.log(q + eps)))
    lt = (F.softmax(pt2i, 1) * (F.log_softmax(pt2i, 1) - torch.log(q + eps)))
    return li.sum(1).mean() + lt.sum(1).mean()


def _paper_cmpm_literal(v, t, pids, tau, eps=1e-8):
    """VFE-TPS eq. 6-9 with one 1/B over the rows (see CMPMLoss)."""
    y = (pids[:, None] == pids[None, :]).double()
    q = y / y.sum(1, keepdim=True)
    cos = F.normalize(v, dim=1).double() @ F.normalize(t, dim=1).double().t()
    total = 0.
    for sim in (cos, cos.t()):
        p = torch.exp(sim / tau) / torch.exp(sim / tau).sum(1, keepdim=True)
        total += (p * torch.log(p / (q + eps))).sum(1).mean()
    return total


def test_cmpm_both_variants_on_random_batches():
    torch.manual_seed(0)
    v, t = torch.randn(7, 5) * 3, torch.randn(7, 5) * 2
    pids = torch.tensor([0, 0, 1, 2, 2, 2, 3])  # incl. singletons
    paper = MODELS.build(dict(type='CMPMLoss', mode='paper'))
    assert paper(v, t, pids, logit_scale=torch.tensor(2.)).item() == \
        pytest.approx(
        _paper_cmpm_literal(v, t, pids, 0.5).item(), rel=1e-5)
    irra = MODELS.build(dict(type='CMPMLoss', mode='irra'))
    assert irra(v, t, pids).item() == pytest.approx(
        _irra_cmpm_literal(v, t, pids).item(), rel=1e-5)
