"""PIR Progressive Attention Encoder layers, Spatial-PAE and Temporal-PAE:
query/key roles against a hand-written attention, padding masks."""
import pytest
import torch
import torch.nn.functional as F

from sdtr.models.necks import (PAECrossAttentionLayer, PAESelfAttentionLayer,
                               SpatialPAE, TemporalPAE)
from sdtr.registry import MODELS


def _manual_mha(attn, q, k, v, heads, mask=None):
    d = q.shape[-1]
    wq, wk, wv = attn.in_proj_weight.split(d)
    bq, bk, bv = attn.in_proj_bias.split(d)
    B, L, _ = q.shape
    dh = d // heads

    def split(x):
        return x.view(B, -1, heads, dh).transpose(1, 2)

    Q, K, V = split(q @ wq.t() + bq), split(k @ wk.t() + bk), \
        split(v @ wv.t() + bv)
    scores = Q @ K.transpose(-1, -2) / dh**0.5
    if mask is not None:
        scores = scores.masked_fill(mask[:, None, None, :], float('-inf'))
    out = (scores.softmax(-1) @ V).transpose(1, 2).reshape(B, L, d)
    return attn.out_proj(out)


def test_cross_layer_matches_hand_written_post_norm():
    torch.manual_seed(0)
    layer = PAECrossAttentionLayer(dim=16, num_heads=4, dropout=0.2).eval()
    x, y = torch.randn(2, 5, 16), torch.randn(2, 5, 16)
    mask = torch.tensor([[False] * 5, [False, False, False, True, True]])
    out = layer(x, y, key_padding_mask=mask)
    a = _manual_mha(layer.attn, x, y, y, 4, mask)
    h = F.layer_norm(y + a, (16, ), layer.norm1.weight, layer.norm1.bias)
    mlp = layer.mlp
    m = mlp[3](F.gelu(mlp[1](mlp[0](h))))
    expect = F.layer_norm(h + m, (16, ), layer.norm2.weight,
                          layer.norm2.bias)
    torch.testing.assert_close(out, expect, rtol=1e-4, atol=1e-5)
    # query from the 1st argument: swapping the roles changes the result
    assert not torch.allclose(layer(y, x), out)


def test_self_layer_matches_hand_written():
    torch.manual_seed(1)
    layer = MODELS.build(
        dict(type='PAESelfAttentionLayer', dim=8, num_heads=2)).eval()
    x = torch.randn(3, 4, 8)
    a = _manual_mha(layer.attn, x, x, x, 2)
    h = layer.norm1(x + a)
    torch.testing.assert_close(
        layer(x), layer.norm2(h + layer.mlp(h)), rtol=1e-4, atol=1e-5)


def test_cross_layer_query_is_per_row_key_is_global():
    torch.manual_seed(2)
    layer = PAECrossAttentionLayer(dim=8, num_heads=2).eval()
    x, y = torch.randn(1, 4, 8), torch.randn(1, 4, 8)
    base = layer(x, y)
    x2 = x.clone()
    x2[0, 2] += 3.  # a query row only changes its own output row
    out = layer(x2, y)
    changed = (out - base).abs().sum(-1)[0] > 1e-6
    assert changed.tolist() == [False, False, True, False]
    y2 = y.clone()
    y2[0, 2] += 3.  # a key/value row changes every output row
    assert ((layer(x, y2) - base).abs().sum(-1) > 1e-6).all()
    with pytest.raises(ValueError, match='same shape'):
        layer(torch.randn(1, 3, 8), y)


@pytest.mark.parametrize('module', [
    PAESelfAttentionLayer(dim=8, num_heads=2),
    TemporalPAE(dim=8, cycle_num=3, num_heads=2),
])
def test_padding_never_leaks(module):
    torch.manual_seed(3)
    module.eval()
    x = torch.randn(2, 6, 8)
    mask = torch.zeros(2, 6, dtype=torch.bool)
    mask[0, 4:] = True
    mask[1, 2:] = True
    x2 = x.clone()
    x2[mask] = torch.randn(int(mask.sum()), 8) * 10
    out, out2 = module(x, key_padding_mask=mask), module(
        x2, key_padding_mask=mask)
    torch.testing.assert_close(out[~mask], out2[~mask])
    # without the mask (released behaviour) the padding does leak
    assert not torch.allclose(module(x)[~mask], module(x2)[~mask])


def test_mask_errors():
    layer = PAESelfAttentionLayer(dim=8, num_heads=2)
    x = torch.randn(2, 3, 8)
    with pytest.raises(ValueError, match='key_padding_mask must be'):
        layer(x, torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match='all padding'):
        layer(x, torch.tensor([[True] * 3, [False] * 3]))
    with pytest.raises(ValueError, match='divisible'):
        PAESelfAttentionLayer(dim=10, num_heads=4)


def test_spatial_pae_instruction_queries():
    torch.manual_seed(4)
    pae = MODELS.build(
        dict(type='SpatialPAE', dim=16, instru_num=2, num_heads=4)).eval()
    assert len(pae.mappings) == 2 and len(pae.cross_layers) == 2
    tokens, instr = torch.randn(2, 40 // 4, 16), torch.randn(2, 16)
    out = pae(tokens, instr)
    assert out.shape == tokens.shape
    # the instruction is the query: changing it changes the output
    assert not torch.allclose(pae(tokens, instr + 1.), out)
    # identical query rows and no positions: permutation equivariant
    perm = torch.randperm(tokens.shape[1])
    torch.testing.assert_close(pae(tokens[:, perm], instr), out[:, perm],
                               rtol=1e-4, atol=1e-5)
    # B = 1 works and rows are independent
    torch.testing.assert_close(pae(tokens[1:], instr[1:]), out[1:],
                               rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='instruction'):
        pae(tokens, torch.randn(2, 8))


def test_temporal_pae_previous_step_queries():
    torch.manual_seed(5)
    pae = TemporalPAE(dim=8, cycle_num=3, num_heads=2).eval()
    assert len(pae.mappings) == 3
    x = torch.randn(1, 5, 8)
    out = pae(x)
    # manual unrolling: h_l = CroSA_l(q = M_l(h_{l-1}), kv = MHSA_l(h_{l-1}))
    h = x
    for m, sa, ca in zip(pae.mappings, pae.self_layers, pae.cross_layers):
        h = ca(m(h), sa(h))
    torch.testing.assert_close(out, h)
    with pytest.raises(ValueError, match='TemporalPAE expects'):
        pae(torch.randn(1, 5, 4))
