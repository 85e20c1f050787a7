"""EKLSR eq. 1-2: s_i = 1 - cos(f_cls, f_i), on hand-computed tensors."""
import math

import pytest
import torch

from sdtr.models.selectors import ImportanceFactor


def test_importance_hand_computed():
    g = torch.tensor([[1., 0.]])
    locals_ = torch.tensor([[[1., 0.], [0., 1.], [-1., 0.], [1., 1.],
                             [3., 0.]]])
    s = ImportanceFactor()(g, locals_)
    expected = torch.tensor([[0., 1., 2., 1 - 1 / math.sqrt(2), 0.]])
    assert torch.allclose(s, expected, atol=1e-6)


def test_importance_scale_invariant_and_masked():
    torch.manual_seed(0)
    g, locals_ = torch.randn(2, 4), torch.randn(2, 3, 4)
    imp = ImportanceFactor()
    s = imp(g, locals_)
    assert torch.allclose(imp(5 * g, 0.1 * locals_), s, atol=1e-5)
    assert ((s >= 0) & (s <= 2)).all()
    valid = torch.tensor([[True, False, True], [False, False, True]])
    masked = imp(g, locals_, valid)
    assert torch.equal(masked[~valid], torch.zeros(3))
    assert torch.allclose(masked[valid], s[valid])


def test_importance_detach_switch():
    g = torch.randn(1, 4, requires_grad=True)
    loc = torch.randn(1, 3, 4, requires_grad=True)
    assert not ImportanceFactor()(g, loc).requires_grad
    ImportanceFactor(detach=False)(g, loc).sum().backward()
    assert g.grad is not None and loc.grad is not None


def test_importance_bad_shapes():
    imp = ImportanceFactor()
    with pytest.raises(ValueError, match='local_feats'):
        imp(torch.randn(2, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match='does not match'):
        imp(torch.randn(2, 4), torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match='valid_mask'):
        imp(torch.randn(2, 4), torch.randn(2, 3, 4),
            torch.ones(2, 4, dtype=torch.bool))
