"""Hand-computed values of the matching losses on tiny inputs."""
import math

import pytest
import torch

from sdtr.registry import MODELS


def lse(*xs):
    return math.log(sum(math.exp(x) for x in xs))


def kl_row(logits, q, eps=1e-8):
    z = lse(*logits)
    p = [math.exp(x - z) for x in logits]
    return sum(pj * (math.log(pj) - math.log(qj + eps))
               for pj, qj in zip(p, q))


# v1=(1,0) v2=(0,1) v3=(1,0); t1=(1,0) t2=(1,0) t3=(0,1); labels 0,0,1
IMG = torch.tensor([[1., 0.], [0., 1.], [1., 0.]])
TXT = torch.tensor([[1., 0.], [1., 0.], [0., 1.]])
LABELS = torch.tensor([0, 0, 1])
I2T = [[1, 1, 0], [0, 0, 1], [1, 1, 0]]  # cos(v_i, t_j)
T2I = [[1, 0, 1], [1, 0, 1], [0, 1, 0]]  # cos(t_i, v_j)
Q = [[.5, .5, 0], [.5, .5, 0], [0, 0, 1]]


ONE = torch.tensor(1.0)  # the model's exp'd scale (temperature 1)


def test_infonce_single_positive():
    loss = MODELS.build(dict(type='InfoNCELoss'))
    eye = torch.eye(2)
    value = loss(eye, eye, None, logit_scale=ONE)
    assert value.item() == pytest.approx(math.log(1 + math.e) - 1, abs=1e-6)


def test_infonce_multi_positive():
    loss = MODELS.build(dict(type='InfoNCELoss'))

    def ce(logits, q):
        return -sum(qj * (x - lse(*logits)) for x, qj in zip(logits, q))

    i2t = sum(ce(r, q) for r, q in zip(I2T, Q)) / 3
    t2i = sum(ce(r, q) for r, q in zip(T2I, Q)) / 3
    expected = 0.5 * (i2t + t2i)
    assert loss(IMG, TXT, LABELS, logit_scale=ONE).item() == pytest.approx(
        expected, abs=1e-6)
    # features are L2-normalised inside; scaling them changes nothing
    assert loss(3 * IMG, 0.5 * TXT, LABELS,
                logit_scale=ONE).item() == pytest.approx(expected, abs=1e-6)
    # scale 2 (temperature 0.5) -> logits doubled
    weighted = MODELS.build(dict(type='InfoNCELoss', loss_weight=2.0))
    i2t = sum(ce([2 * x for x in r], q) for r, q in zip(I2T, Q)) / 3
    t2i = sum(ce([2 * x for x in r], q) for r, q in zip(T2I, Q)) / 3
    assert weighted(IMG, TXT, LABELS, logit_scale=torch.tensor(
        2.)).item() == pytest.approx(i2t + t2i, abs=1e-6)


@pytest.mark.parametrize('cfg', [
    dict(type='InfoNCELoss'), dict(type='SDMLoss'),
    dict(type='CMPMLoss', mode='paper'), dict(type='AffiliationLoss')])
def test_scaled_losses_own_no_temperature(cfg):
    """The temperature is the model's: a scaled loss owns no parameter,
    declares that it takes the scale, and refuses to run without it."""
    loss = MODELS.build(cfg)
    assert loss.uses_logit_scale and not list(loss.parameters())
    assert not loss.state_dict()
    with pytest.raises(ValueError, match='model\'s logit scale'):
        loss(IMG, TXT, torch.tensor([0, 0, 1]))
    with pytest.raises(TypeError, match='temperature'):
        MODELS.build(dict(cfg, temperature=0.02))


def test_sdm():
    loss = MODELS.build(dict(type='SDMLoss'))
    expected = sum(kl_row(r, q) for r, q in zip(I2T, Q)) / 3 + \
        sum(kl_row(r, q) for r, q in zip(T2I, Q)) / 3
    assert loss(IMG, TXT, LABELS, logit_scale=ONE).item() == pytest.approx(
        expected, rel=1e-5)
    expected50 = sum(kl_row([50 * x for x in r], q)
                     for r, q in zip(I2T, Q)) / 3 + sum(
                         kl_row([50 * x for x in r], q)
                         for r, q in zip(T2I, Q)) / 3
    assert loss(IMG, TXT, LABELS, logit_scale=torch.tensor(
        50.)).item() == pytest.approx(expected50, rel=1e-5)


def test_cmpm_paper_and_irra():
    paper = MODELS.build(dict(type='CMPMLoss', mode='paper'))
    expected = sum(kl_row(r, q) for r, q in zip(I2T, Q)) / 3 + \
        sum(kl_row(r, q) for r, q in zip(T2I, Q)) / 3
    assert paper(2 * IMG, TXT, LABELS,
                 logit_scale=ONE).item() == pytest.approx(expected, rel=1e-5)
    # IRRA: the raw anchor (norm 2) on unit targets; labels L2-normalised
    irra = MODELS.build(dict(type='CMPMLoss', mode='irra'))
    assert not irra.uses_logit_scale
    img, txt = 2 * IMG, 3 * TXT
    i2t = [[2 * x for x in r] for r in I2T]  # |v| = 2, t normalised
    t2i = [[3 * x for x in r] for r in T2I]  # |t| = 3, v normalised
    q = [[1 / math.sqrt(2), 1 / math.sqrt(2), 0],
         [1 / math.sqrt(2), 1 / math.sqrt(2), 0], [0, 0, 1]]
    expected = sum(kl_row(r, qr) for r, qr in zip(i2t, q)) / 3 + \
        sum(kl_row(r, qr) for r, qr in zip(t2i, q)) / 3
    assert irra(img, txt, LABELS).item() == pytest.approx(expected,
                                                          rel=1e-5)
    with pytest.raises(ValueError, match='takes no logit scale'):
        irra(img, txt, LABELS, logit_scale=ONE)
    with pytest.raises(ValueError):
        MODELS.build(dict(type='CMPMLoss', mode='nope'))


def test_id_loss():
    loss = MODELS.build(dict(type='IDLoss', in_channels=2, num_classes=3))
    assert loss.classifier.weight.std().item() < 0.01
    assert torch.equal(loss.classifier.bias, torch.zeros(3))
    with torch.no_grad():
        loss.classifier.weight.copy_(torch.tensor([[1., 0.], [0., 1.],
                                                   [1., 1.]]))
    img = torch.tensor([[1., 0.], [0., 2.]])
    txt = torch.tensor([[0., 0.], [1., 1.]])
    labels = torch.tensor([0, 2])
    ce_img = ((lse(1, 0, 1) - 1) + (lse(0, 2, 2) - 2)) / 2
    ce_txt = ((lse(0, 0, 0) - 0) + (lse(1, 1, 2) - 2)) / 2
    assert loss(img, txt, labels).item() == pytest.approx(
        (ce_img + ce_txt) / 2, abs=1e-6)
    with pytest.raises(ValueError, match='labels'):
        loss(img, txt, torch.tensor([0, 3]))


@pytest.mark.parametrize('cfg', [
    dict(type='InfoNCELoss'), dict(type='SDMLoss'),
    dict(type='CMPMLoss'), dict(type='CMPMLoss', mode='irra')])
def test_local_loss_is_identity_without_dist(cfg):
    torch.manual_seed(0)
    img, txt = torch.randn(6, 4), torch.randn(6, 4)
    labels = torch.tensor([0, 1, 0, 2, 1, 3])
    a_loss = MODELS.build(cfg)
    kw = dict(logit_scale=torch.tensor(1 / 0.07)) \
        if a_loss.uses_logit_scale else {}
    a = a_loss(img, txt, labels, **kw)
    b = MODELS.build(dict(cfg, local_loss=True))(img, txt, labels, **kw)
    assert torch.allclose(a, b) and torch.isfinite(a)
