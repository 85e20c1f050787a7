"""PIR affiliation loss and VSE++ triplet loss on hand-computed batches."""
import math

import pytest
import torch

from sdtr.models.losses import AffiliationLoss, VSETripletLoss
from sdtr.registry import MODELS


def _batch():
    s = 1 / math.sqrt(2)
    img = torch.tensor([[1., 0.], [0., 1.], [s, s]])
    txt = torch.tensor([[s, s], [0., 1.], [1., 0.]])
    labels = torch.tensor([4, 7, 4])
    return img, txt, labels


def _ce(row, target):
    return -(row[target] - torch.logsumexp(row, 0))


def _hand(img, txt, labels, scale, transposed):
    n = img.shape[0]
    c_img = torch.stack([img[labels == labels[i]].mean(0) for i in range(n)])
    c_txt = torch.stack([txt[labels == labels[i]].mean(0) for i in range(n)])
    l_i2t = sum(
        _ce(torch.stack([scale * img[i] @ c_txt[k] for k in range(n)]), i)
        for i in range(n)) / n
    if transposed:  # released PIR-ITR: softmax over texts per image centre
        rows = [torch.stack([scale * c_img[i] @ txt[k] for k in range(n)])
                for i in range(n)]
    else:
        rows = [torch.stack([scale * txt[i] @ c_img[k] for k in range(n)])
                for i in range(n)]
    l_t2i = sum(_ce(rows[i], i) for i in range(n)) / n
    return 0.5 * (l_i2t + l_t2i)


@pytest.mark.parametrize('mode', ['paper', 'released_pir_itr'])
def test_affiliation_loss_hand_computed(mode):
    img, txt, labels = _batch()
    loss_fn = AffiliationLoss(t2i_mode=mode)
    loss = loss_fn(img, txt, labels, logit_scale=torch.tensor(1 / 0.07))
    expect = _hand(img, txt, labels, 1 / 0.07, mode != 'paper')
    torch.testing.assert_close(loss, expect)
    # the given (exp'd) model scale
    loss10 = AffiliationLoss(t2i_mode=mode)(img, txt, labels,
                                            logit_scale=torch.tensor(10.))
    torch.testing.assert_close(
        loss10, _hand(img, txt, labels, 10., mode != 'paper'))


def test_affiliation_modes_differ_and_grad():
    img, txt, labels = _batch()
    img.requires_grad_(True)
    log_scale = torch.nn.Parameter(torch.tensor(1 / 0.07).log())
    a = AffiliationLoss(t2i_mode='paper')(img, txt, labels,
                                          logit_scale=log_scale.exp())
    b = AffiliationLoss(t2i_mode='released_pir_itr')(
        img, txt, labels, logit_scale=log_scale.exp())
    assert not torch.allclose(a, b)
    loss_fn = MODELS.build(dict(type='AffiliationLoss', loss_weight=2.))
    loss = loss_fn(img, txt, labels, logit_scale=log_scale.exp())
    loss.backward()
    assert img.grad is not None and log_scale.grad is not None
    torch.testing.assert_close(loss, 2 * a)


ONE = torch.tensor(1.)


def test_affiliation_errors():
    img, txt, _ = _batch()
    with pytest.raises(ValueError, match='scene label >= 0'):
        AffiliationLoss()(img, txt, torch.tensor([0, -1, 0]),
                          logit_scale=ONE)
    with pytest.raises(ValueError, match='t2i_mode'):
        AffiliationLoss(t2i_mode='x')
    with pytest.raises(ValueError, match='2 scene labels for 3'):
        AffiliationLoss()(img, txt, torch.tensor([0, 1]),
                          logit_scale=ONE)
    assert AffiliationLoss.label_key == 'label'  # scene labels, by class


def test_vse_triplet_hand_computed():
    img = torch.tensor([[1., 0.], [0., 1.]])
    txt = torch.tensor([[0.8, 0.6], [0.6, 0.8]])
    # S = [[.8, .6], [.6, .8]]; diag .8; every negative costs .2+.6-.8 = 0
    assert VSETripletLoss(margin=0.2)(img, txt).item() == pytest.approx(0.)
    # margin .5: every negative costs .3; 2 rows + 2 columns
    assert VSETripletLoss(margin=0.5)(img, txt).item() == pytest.approx(1.2)
    assert VSETripletLoss(margin=0.5, reduction='mean')(
        img, txt).item() == pytest.approx(0.6)
    # same label -> no negatives at all
    assert VSETripletLoss(margin=0.5)(
        img, txt, torch.tensor([3, 3])).item() == pytest.approx(0.)


def test_vse_triplet_max_violation():
    img = torch.eye(3)
    txt = torch.tensor([[1., 0., 0.], [0.6, 0.8, 0.], [0., 0., 1.]])
    # S rows: [1,.6,0], [0,.8,0], [0,0,1]
    hard = VSETripletLoss(margin=0.2, max_violation=True)(img, txt)
    # row0: max(.2+.6-1, .2+0-1, 0)=0; row1: .2+0-.8<0 ->0; row2: 0
    # col0 (text0 vs images 1,2): .2+0-1 <0; col1 (text1): .2+.6-.8=0
    assert hard.item() == pytest.approx(0.)
    allneg = VSETripletLoss(margin=0.5, max_violation=False)(img, txt)
    # rows: r0 .1 ; r1: .5+0-.8<0 ,0 ; r2 0 ; cols: c1: .5+.6-.8=.3
    assert allneg.item() == pytest.approx(0.1 + 0.3)
