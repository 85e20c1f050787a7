"""TG-MIM head (VFE-TPS eq. 1-3) and the text-free SimMIM head."""
import math

import pytest
import torch

from sdtr.registry import MODELS


def _head(**kw):
    cfg = dict(type='TGMIMHead', visual_dim=16, text_dim=12, patch_size=4,
               embed_dims=16, num_heads=2, num_layers=2)
    cfg.update(kw)
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    return head.eval()


@pytest.mark.parametrize('grid', [(6, 2), (3, 3), (24, 8)])
def test_output_shape_any_grid(grid):
    head = _head()
    h, w = grid
    vis = torch.randn(2, 1 + h * w, 16)
    txt = torch.randn(2, 7, 12)
    out = head(vis, grid, txt, torch.ones(2, 7))
    assert out.shape == (2, 3, h * 4, w * 4)
    with pytest.raises(ValueError, match='prefix'):
        head(vis[:, 1:], grid, txt)
    with pytest.raises(ValueError, match='visual_dim'):
        head(torch.randn(2, 1 + h * w, 8), grid, txt)


def test_text_changes_reconstruction_only_when_text_guided():
    vis = torch.randn(2, 1 + 12, 16)
    txt_a, txt_b = torch.randn(2, 5, 12), torch.randn(2, 5, 12)
    guided = _head(text_guided=True)
    with torch.no_grad():
        ya = guided(vis, (6, 2), txt_a, torch.ones(2, 5))
        yb = guided(vis, (6, 2), txt_b, torch.ones(2, 5))
    assert (ya - yb).abs().max() > 1e-3
    plain = _head(text_guided=False)
    with torch.no_grad():
        za = plain(vis, (6, 2), txt_a, torch.ones(2, 5))
        zb = plain(vis, (6, 2), txt_b, torch.ones(2, 5))
        zc = plain(vis, (6, 2))
    assert torch.equal(za, zb) and torch.equal(za, zc)
    with pytest.raises(ValueError, match='text_tokens'):
        guided(vis, (6, 2))


def test_key_padding_mask_hides_padding_tokens():
    vis = torch.randn(1, 1 + 12, 16)
    txt = torch.randn(1, 6, 12)
    txt2 = txt.clone()
    txt2[:, 4:] = torch.randn(1, 2, 12)  # only padding positions change
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    head = _head()
    with torch.no_grad():
        assert torch.allclose(head(vis, (6, 2), txt, mask),
                              head(vis, (6, 2), txt2, mask), atol=1e-6)
    released = _head(use_key_padding_mask=False)
    with torch.no_grad():
        assert not torch.allclose(released(vis, (6, 2), txt, mask),
                                  released(vis, (6, 2), txt2, mask))


def test_l1_only_over_masked_pixels():
    head = _head(loss_weight=1.0)
    target = torch.zeros(2, 3, 8, 4)
    pred = torch.zeros(2, 3, 8, 4)
    pm = torch.zeros(2, 1, 8, 4)
    pm[0, :, :4, :] = 1  # one 4x4 patch of image 0
    pm[1, :, 4:, :] = 1  # one 4x4 patch of image 1
    pred[0, :, :4] = 2.0   # masked: |2 - 0| = 2
    pred[1, 0, 4:] = 3.0   # masked, channel 0 only: mean over C -> 1
    pred[0, :, 4:] = 100.  # visible pixels never count
    expected = (2.0 * 16 * 3 + 3.0 * 16) / (32 * 3)
    loss = head.loss(pred, target, pm)
    assert loss.item() == pytest.approx(expected)
    # eq. 3 per masked patch: mean of (1/P^2)|Y_P - X_P|_1 (channel mean)
    per_patch = [(pred[0, :, :4] - target[0, :, :4]).abs().mean(),
                 (pred[1, :, 4:] - target[1, :, 4:]).abs().mean()]
    assert loss.item() == pytest.approx(float(sum(per_patch) / 2))
    assert _head(loss_weight=10.).loss(pred, target, pm).item() == \
        pytest.approx(10 * expected)
    with pytest.raises(ValueError, match='hides no pixel'):
        head.loss(pred, target, torch.zeros_like(pm))


def test_gradient_reaches_visual_tokens_and_text():
    head = _head()
    vis = torch.randn(2, 13, 16, requires_grad=True)
    txt = torch.randn(2, 5, 12, requires_grad=True)
    out = head(vis, (6, 2), txt, torch.ones(2, 5))
    out.abs().mean().backward()
    assert vis.grad.abs().sum() > 0 and txt.grad.abs().sum() > 0


def test_simmim_head_ignores_text():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='SimMIMHead', visual_dim=16,
                             patch_size=4))
    head.init_weights()
    vis = torch.randn(2, 13, 16)
    a = head(vis, (6, 2), torch.randn(2, 5, 12))
    b = head(vis, (6, 2))
    assert a.shape == (2, 3, 24, 8) and torch.equal(a, b)
    # a masked patch's prediction depends only on its own token (linear)
    vis2 = vis.clone()
    vis2[:, 1] += 1.0  # patch (0, 0)
    c = head(vis2, (6, 2))
    assert not torch.allclose(c[:, :, :4, :4], b[:, :, :4, :4])
    assert torch.equal(c[:, :, 4:], b[:, :, 4:])


def test_mae_head_visible_only():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='MAEHead', visual_dim=16, patch_size=4,
                             decoder_embed_dims=16, num_layers=1,
                             num_heads=2))
    head.init_weights()
    head.eval()
    mask = torch.zeros(2, 6, 2, dtype=torch.bool)
    mask[:, :3] = True  # 6 of 12 patches masked, 6 visible
    vis = torch.randn(2, 1 + 6, 16)
    out = head(vis, (6, 2), mask=mask)
    assert out.shape == (2, 3, 24, 8)
    with pytest.raises(ValueError, match="mode='drop'"):
        head(torch.randn(2, 13, 16), (6, 2), mask=mask)
    with pytest.raises(ValueError, match='patch mask'):
        head(vis, (6, 2))
    # unpatchify: one prediction row fills exactly one P x P patch
    with torch.no_grad():
        head.pred.weight.zero_()
        head.pred.bias.copy_(torch.arange(48.))
    y = head(vis, (6, 2), mask=mask)
    assert torch.equal(y[0, :, 4:8, 0:4], y[0, :, 0:4, 0:4])
    assert y[0, 0, 0, 1].item() == 3.0 and y[0, 1, 0, 0].item() == 1.0
    assert y[0, 0, 1, 0].item() == 12.0  # row-major (row, col, channel)
    pm = torch.zeros(2, 1, 24, 8)
    pm[:, :, :12] = 1
    assert head.loss(y, torch.zeros_like(y), pm).item() > 0


def test_transformer_uses_quickgelu_like_the_release():
    from open_clip.transformer import QuickGELU
    head = _head(num_layers=1)
    mlp = head.transformer.resblocks[0].mlp
    assert isinstance(mlp.gelu, QuickGELU)
    x = torch.tensor([-2.0, -0.5, 0.0, 0.7, 3.0])
    # QuickGELU by hand: x * sigmoid(1.702 x)
    expected = [v * (1 / (1 + math.exp(-1.702 * v))) for v in x.tolist()]
    assert mlp.gelu(x).tolist() == pytest.approx(expected, rel=1e-6)
    # same weights, exact GELU: a different head output
    exact = _head(num_layers=1, act='gelu')
    exact.load_state_dict(head.state_dict())
    assert isinstance(exact.transformer.resblocks[0].mlp.gelu,
                      torch.nn.GELU)
    vis, txt = torch.randn(2, 13, 16), torch.randn(2, 5, 12)
    with torch.no_grad():
        a = head(vis, (6, 2), txt, torch.ones(2, 5))
        b = exact(vis, (6, 2), txt, torch.ones(2, 5))
    assert (a - b).abs().max() > 1e-4
    with pytest.raises(ValueError, match='act'):
        _head(act='relu')


def test_with_cp_same_outputs_and_gradients_blocks_recomputed(monkeypatch):
    """Gradient checkpointing of the head's transformer (VFE-TPS's extra
    pass): identical outputs and gradients, and the blocks really run again
    in the backward pass."""
    results = []
    for with_cp in (False, True):
        head = _head(with_cp=with_cp).train()
        calls = []  # module calls, backward recomputation included
        gen = torch.Generator().manual_seed(1)
        vis = torch.randn(2, 13, 16, generator=gen, requires_grad=True)
        txt = torch.randn(2, 5, 12, generator=gen, requires_grad=True)
        handle = torch.nn.modules.module.register_module_forward_hook(
            lambda *_: calls.append(1))
        try:
            out = head(vis, (6, 2), txt, torch.ones(2, 5))
            forward_calls = len(calls)
            out.square().mean().backward()
        finally:
            handle.remove()
        results.append((out.detach(), vis.grad, txt.grad,
                        [p.grad.clone() for p in head.parameters()],
                        forward_calls, len(calls)))
    (o0, v0, t0, g0, f0, n0), (o1, v1, t1, g1, f1, n1) = results
    assert torch.equal(o0, o1)
    assert torch.allclose(v0, v1, atol=1e-6) and torch.allclose(t0, t1,
                                                                atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g0, g1))
    # the backward pass reruns the checkpointed layers' modules only
    assert f0 == f1 and n0 == f0 and n1 > f1
