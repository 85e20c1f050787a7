"""EKLSR eq. 5-8: KLSF fusion on hand-computed tensors."""
import math

import pytest
import torch
import torch.nn.functional as F

from sdtr.models.necks import KLSFFusion


def _inputs():
    locals_ = torch.tensor([[[1., 0.], [0., 1.], [2., 2.]]])
    scores = torch.tensor([[0., math.log(2.), math.log(3.)]])
    selected = torch.tensor([[True, False, True]])
    cls = torch.tensor([[1., 1.]])
    return locals_, scores, selected, cls


def test_eq5_weights_over_all_locals_sum_over_selected():
    locals_, scores, selected, cls = _inputs()
    neck = KLSFFusion(in_channels=2)
    f_key = neck.fuse(locals_, scores, selected, cls)
    # softmax over all 3 locals: exp(s) = 1, 2, 3 -> 1/6, 2/6, 3/6;
    # selected 0 and 2: 1/6 * (1, 0) + 3/6 * (2, 2) + (1, 1)
    assert torch.allclose(f_key, torch.tensor([[1 / 6 + 1 + 1, 1 + 1.]]))
    # the denominator runs over valid locals only (padding excluded)
    valid = torch.tensor([[True, False, True]])
    f_key = neck.fuse(locals_, scores, selected, cls, valid)
    assert torch.allclose(f_key, torch.tensor([[0.25 + 1.5 + 1, 1.5 + 1]]))


def test_eq6_to_8_transform_and_residual():
    torch.manual_seed(0)
    locals_, scores, selected, cls = _inputs()
    g = torch.tensor([[0.5, -0.5]])
    neck = KLSFFusion(in_channels=2, hidden_channels=5, dropout=0.5).eval()
    out = neck(locals_, scores, selected, cls_feat=cls, global_feat=g)
    f_key = torch.tensor([[1 / 6 + 2, 2.]])
    hidden = F.gelu(f_key @ neck.fc1.weight.t() + neck.fc1.bias)
    expected = hidden @ neck.fc2.weight.t() + neck.fc2.bias + g
    assert torch.allclose(out, expected, atol=1e-6)
    # global_feat defaults to cls_feat (f_cls = f_g in sdtr's towers)
    out_default = neck(locals_, scores, selected, cls_feat=cls)
    assert torch.allclose(out_default - cls, expected - g, atol=1e-6)
    # dropout (eq. 6) acts in training only
    neck.train()
    torch.manual_seed(1)
    outs = [neck(locals_.expand(64, -1, -1), scores.expand(64, -1),
                 selected.expand(64, -1), cls.expand(64, -1))
            for _ in range(2)]
    assert not torch.allclose(outs[0], outs[1])


def test_nothing_selected_gives_cls_only():
    locals_, scores, _, cls = _inputs()
    neck = KLSFFusion(in_channels=2)
    none = torch.zeros(1, 3, dtype=torch.bool)
    assert torch.allclose(neck.fuse(locals_, scores, none, cls), cls)
    empty = torch.zeros(1, 3, dtype=torch.bool)
    assert torch.allclose(
        neck.fuse(locals_, scores, none, cls, valid_mask=empty), cls)


def test_gradients_reach_locals_and_transform():
    locals_, scores, selected, cls = _inputs()
    locals_ = locals_.clone().requires_grad_(True)
    neck = KLSFFusion(in_channels=2, hidden_channels=4)
    neck(locals_, scores, selected, cls).sum().backward()
    assert locals_.grad[0, 1].abs().sum() == 0  # not selected
    assert locals_.grad[0, 0].abs().sum() > 0
    assert neck.fc1.weight.grad is not None


def test_bad_shapes():
    neck = KLSFFusion(in_channels=2)
    locals_, scores, selected, cls = _inputs()
    with pytest.raises(ValueError, match='scores'):
        neck(locals_, scores[:, :2], selected, cls)
    with pytest.raises(ValueError, match='cls_feat'):
        neck(locals_, scores, selected, torch.ones(1, 3))
    with pytest.raises(ValueError, match='in_channels'):
        KLSFFusion(in_channels=4).fuse(locals_, scores, selected, cls)
    with pytest.raises(ValueError, match='global_feat'):
        neck(locals_, scores, selected, cls, global_feat=torch.ones(2, 2))
