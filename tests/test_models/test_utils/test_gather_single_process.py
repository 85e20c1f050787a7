import torch

from sdtr.models.utils import (gather_no_grad, gather_with_grad,
                               get_rank_and_world_size, is_distributed)


def test_identity_without_process_group():
    assert not is_distributed()
    assert get_rank_and_world_size() == (0, 1)
    x = torch.randn(3, 2, requires_grad=True)
    y = gather_with_grad(x)
    assert y is x
    labels = torch.tensor([1, 2, 3])
    assert gather_no_grad(labels) is labels
