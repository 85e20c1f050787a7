"""``with_cp=True`` on every tower (CLIP ViT, CLIP text, Swin, BERT):
activations are recomputed in the backward pass, so the outputs and every
parameter gradient equal those without checkpointing (train mode, dropout /
drop path included: the RNG state is replayed), and the checkpoint function
is really called.  Memory saved at base width: README "Performance"."""
import copy

import pytest
import torch

from sdtr.models.backbones import (BertTextEncoder, CLIPTextTransformer,
                                   CLIPVisionTransformer,
                                   SwinTransformerEncoder)


def vit(with_cp):
    return CLIPVisionTransformer(arch=None, image_size=32, patch_size=8,
                                 width=64, layers=2, heads=2, embed_dim=32,
                                 with_cp=with_cp)


def text(with_cp):
    return CLIPTextTransformer(arch=None, context_length=16, vocab_size=100,
                               width=64, heads=2, layers=2, embed_dim=32,
                               act='gelu', with_cp=with_cp)


def swin(with_cp):
    return SwinTransformerEncoder(
        arch=dict(embed_dims=16, depths=[2, 2], num_heads=[2, 4]),
        img_size=64, window_size=8, drop_path_rate=0.2, with_cp=with_cp)


def bert(with_cp):
    return BertTextEncoder(config=dict(
        vocab_size=100, hidden_size=32, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=32, hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1), with_cp=with_cp)


def ids(n=3, length=16):
    x = torch.randint(1, 98, (n, length), generator=torch.Generator()
                      .manual_seed(0))
    x[:, -1] = 99  # EOT (argmax) for the CLIP text tower
    return x


CASES = {
    'clip_vit': (vit, lambda: (torch.randn(3, 3, 32, 32),),
                 lambda out: out['tokens']),
    'clip_text': (text, lambda: (ids(),), lambda out: out['tokens']),
    'swin': (swin, lambda: (torch.randn(2, 3, 64, 64),), lambda out: out),
    'bert': (bert, lambda: (ids(), torch.ones(3, 16, dtype=torch.long)),
             lambda out: out),
}


@pytest.mark.parametrize('name', sorted(CASES))
def test_same_outputs_and_gradients(name):
    build, inputs, tokens = CASES[name]
    torch.manual_seed(0)
    ref = build(False).train()
    cp = build(True).train()
    cp.load_state_dict(ref.state_dict())
    torch.manual_seed(1)
    args = inputs()
    results = []
    for model in (ref, cp):
        torch.manual_seed(2)  # same dropout / drop path draws
        calls = []  # module forward calls, backward recomputation included
        handle = torch.nn.modules.module.register_module_forward_hook(
            lambda *_: calls.append(1))
        try:
            out = tokens(model(*args))
            forward_calls = len(calls)
            out.square().mean().backward()
        finally:
            handle.remove()
        results.append((out.detach(), {n: p.grad.clone()
                                       for n, p in model.named_parameters()
                                       if p.grad is not None},
                        len(calls) - forward_calls))
    (out_ref, grad_ref, n_ref), (out_cp, grad_cp, n_cp) = results
    # the backward pass reruns the checkpointed blocks' modules
    assert n_ref == 0 and n_cp > 4, (n_ref, n_cp)
    torch.testing.assert_close(out_cp, out_ref, rtol=0, atol=0)
    assert grad_cp.keys() == grad_ref.keys() and len(grad_ref) > 4
    for key in grad_ref:
        torch.testing.assert_close(grad_cp[key], grad_ref[key], rtol=1e-6,
                                   atol=1e-7, msg=key)


def test_config_key_reaches_the_tower():
    from sdtr.registry import MODELS
    tower = MODELS.build(dict(type='CLIPTextTransformer', arch=None,
                              context_length=8, vocab_size=50, width=32,
                              heads=2, layers=1, embed_dim=16,
                              act='gelu', with_cp=True))
    assert tower.transformer.grad_checkpointing
    assert copy.deepcopy(bert(True)).bert.is_gradient_checkpointing
    assert all(blk.with_cp for stage in swin(True).swin.stages
               for blk in stage.blocks)


def test_causal_sdpa_blocks_equal_open_clip(monkeypatch):
    """The GPU path of CLIPTextTransformer (causal scaled-dot-product
    attention, forced onto the CPU here) gives open_clip's outputs and
    gradients; the CPU default is open_clip's own path, bit for bit."""
    from open_clip.transformer import TextTransformer

    from sdtr.models.backbones import clip_text_transformer as ctt
    torch.manual_seed(0)
    for with_cp in (False, True):
        tower = text(with_cp).train()
        ref = TextTransformer(context_length=16, vocab_size=100, width=64,
                              heads=2, layers=2, output_dim=32,
                              act_layer=torch.nn.GELU).train()
        ref.load_state_dict(tower.state_dict())
        x = ids()
        out_ref = ref(x)
        out_ref = out_ref[0] if isinstance(out_ref, tuple) else out_ref
        out_ref.square().sum().backward()
        for devices in (('cuda', ), ('cuda', 'cpu')):
            monkeypatch.setattr(ctt, 'CAUSAL_SDPA_DEVICES', devices)
            tower.zero_grad()
            out = tower(x)['global']
            out.square().sum().backward()
            exact = devices == ('cuda', )
            torch.testing.assert_close(out, out_ref, rtol=0 if exact else
                                       1e-5, atol=0 if exact else 1e-6)
            for (n, p), q in zip(tower.named_parameters(), ref.parameters()):
                torch.testing.assert_close(
                    p.grad, q.grad, rtol=0 if exact else 1e-4,
                    atol=0 if exact else 1e-6, msg=n)
        ref.zero_grad()
