"""TransformerEncoderNeck (PIR Table I "+ TEL"): the composition of PAE
self-attention layers, the padding mask, and the PAE's parameter budget."""
import pytest
import torch

from sdtr.models.necks import (PAESelfAttentionLayer, SpatialPAE,
                               TemporalPAE, TransformerEncoderNeck)
from sdtr.registry import MODELS


def test_is_the_stack_of_pae_self_attention_layers():
    torch.manual_seed(0)
    neck = MODELS.build(dict(type='TransformerEncoderNeck', dim=8,
                             num_layers=3, num_heads=2)).eval()
    x = torch.randn(2, 5, 8)
    expect = x
    for layer in neck.layers:
        assert isinstance(layer, PAESelfAttentionLayer)
        expect = layer(expect)
    torch.testing.assert_close(neck(x), expect)
    # three different layers: not the same map applied three times
    assert not torch.allclose(neck.layers[0](x), neck.layers[1](x))


def test_padding_never_reaches_the_other_tokens():
    torch.manual_seed(1)
    neck = TransformerEncoderNeck(dim=8, num_layers=2, num_heads=2).eval()
    x = torch.randn(1, 6, 8)
    mask = torch.tensor([[False] * 4 + [True] * 2])
    y = x.clone()
    y[0, 4:] = 100.0  # whatever the padding holds
    torch.testing.assert_close(neck(x, mask)[0, :4], neck(y, mask)[0, :4])
    # without the mask the padding does leak
    assert not torch.allclose(neck(x)[0, :4], neck(y)[0, :4])


def test_parameter_budget_of_the_pae_it_replaces():
    """4 / 6 layers = 2 Spatial-PAE / 3 Temporal-PAE steps minus their
    instruction mappings (one d x d linear map per step)."""
    d = 16
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    mapping = d * d + d
    for steps, pae in ((2, SpatialPAE(dim=d, instru_num=2, num_heads=2)),
                       (3, TemporalPAE(dim=d, cycle_num=3, num_heads=2))):
        neck = TransformerEncoderNeck(dim=d, num_layers=2 * steps,
                                      num_heads=2)
        assert count(neck) == count(pae) - steps * mapping


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match='num_layers'):
        TransformerEncoderNeck(num_layers=0)
    with pytest.raises(ValueError, match=r'\[B, L, 8\]'):
        TransformerEncoderNeck(dim=8, num_heads=2)(torch.zeros(2, 3, 4))
