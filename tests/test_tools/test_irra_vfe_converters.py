"""IRRA / VFE-TPS checkpoint converters on state dicts with the real
upstream key layout (docs/methods/irra_clip.md#10-checkpoints; anosorae/IRRA,
zhangweifeng1218/VFE_TPS ``model/build.py``), random values, tiny sizes
matching configs/_base_/models/vfe_tps_tiny_person.py."""
import importlib.util
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
CONV = REPO / 'tools/model_converters'
TINY = str(REPO / 'configs/vfe_tps/vfe-tps_tiny_1xb32_synthetic-person.py')
W, LAYERS, P, GRID, D = 128, 3, 8, (12, 4), 128  # tiny towers
CTX, VOCAB, HEAD_LAYERS = 32, 49408, 2


def _load(name):
    spec = importlib.util.spec_from_file_location(name, CONV / f'{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _blocks(prefix, width, layers, g):
    sd = OrderedDict()
    for i in range(layers):
        b = f'{prefix}resblocks.{i}.'
        for name, shape in (('attn.in_proj_weight', (3 * width, width)),
                            ('attn.in_proj_bias', (3 * width, )),
                            ('attn.out_proj.weight', (width, width)),
                            ('attn.out_proj.bias', (width, )),
                            ('ln_1.weight', (width, )),
                            ('ln_1.bias', (width, )),
                            ('mlp.c_fc.weight', (4 * width, width)),
                            ('mlp.c_fc.bias', (4 * width, )),
                            ('mlp.c_proj.weight', (width, 4 * width)),
                            ('mlp.c_proj.bias', (width, )),
                            ('ln_2.weight', (width, )),
                            ('ln_2.bias', (width, ))):
            sd[b + name] = torch.randn(*shape, generator=g) * 0.05
    return sd


def _irra_state_dict(g, mlm=True, classifier=True):
    """IRRA ``model.state_dict()`` (fp16 like the release)."""
    sd = OrderedDict()
    v = 'base_model.visual.'
    sd[v + 'class_embedding'] = torch.randn(W, generator=g)
    sd[v + 'positional_embedding'] = torch.randn(1 + GRID[0] * GRID[1], W,
                                                 generator=g)
    sd[v + 'proj'] = torch.randn(W, D, generator=g) * 0.05
    sd[v + 'conv1.weight'] = torch.randn(W, 3, P, P, generator=g) * 0.05
    for ln in ('ln_pre', 'ln_post'):
        sd[f'{v}{ln}.weight'] = torch.ones(W)
        sd[f'{v}{ln}.bias'] = torch.zeros(W)
    sd.update(_blocks(v + 'transformer.', W, LAYERS, g))
    sd['base_model.positional_embedding'] = torch.randn(CTX, W, generator=g)
    sd['base_model.text_projection'] = torch.randn(W, D, generator=g) * .05
    sd['base_model.logit_scale'] = torch.tensor(4.6)
    sd.update(_blocks('base_model.transformer.', W, LAYERS, g))
    sd['base_model.token_embedding.weight'] = torch.randn(VOCAB, W,
                                                          generator=g)
    sd['base_model.ln_final.weight'] = torch.ones(W)
    sd['base_model.ln_final.bias'] = torch.zeros(W)
    if classifier:
        sd['classifier.weight'] = torch.randn(64, D, generator=g) * 1e-3
        sd['classifier.bias'] = torch.zeros(64)
    if mlm:
        sd['cross_attn.in_proj_weight'] = torch.randn(3 * D, D, generator=g)
        sd['cross_attn.in_proj_bias'] = torch.zeros(3 * D)
        sd['cross_attn.out_proj.weight'] = torch.randn(D, D, generator=g)
        sd['cross_attn.out_proj.bias'] = torch.zeros(D)
        sd.update(_blocks('cross_modal_transformer.', D, 4, g))
        for ln in ('ln_pre_t', 'ln_pre_i', 'ln_post'):
            sd[f'{ln}.weight'] = torch.ones(D)
            sd[f'{ln}.bias'] = torch.zeros(D)
        sd['mlm_head.dense.weight'] = torch.randn(D, D, generator=g)
        sd['mlm_head.dense.bias'] = torch.zeros(D)
        sd['mlm_head.ln.weight'] = torch.ones(D)
        sd['mlm_head.ln.bias'] = torch.zeros(D)
        sd['mlm_head.fc.weight'] = torch.randn(VOCAB, D, generator=g)
        sd['mlm_head.fc.bias'] = torch.zeros(VOCAB)
    return OrderedDict((k, v.half()) for k, v in sd.items())


def _vfe_state_dict(g):
    """VFE-TPS ``model.state_dict()`` trained with ``sdm+gi2id+mim``."""
    sd = _irra_state_dict(g, mlm=False)
    sd['mask_token'] = torch.randn(1, 1, W, generator=g)
    sd['cross_attention_image.in_proj_weight'] = torch.randn(
        3 * D, D, generator=g) * D**-0.5
    sd['cross_attention_image.in_proj_bias'] = torch.randn(3 * D,
                                                           generator=g) * .1
    sd['cross_attention_image.out_proj.weight'] = torch.randn(
        D, D, generator=g) * D**-0.5
    sd['cross_attention_image.out_proj.bias'] = torch.zeros(D)
    sd.update(_blocks('cross_modal_transformer_image.', D, HEAD_LAYERS, g))
    for ln in ('image_ln_pre_t', 'image_ln_pre_i', 'image_ln_post'):
        sd[f'{ln}.weight'] = 1 + 0.1 * torch.randn(D, generator=g)
        sd[f'{ln}.bias'] = 0.1 * torch.randn(D, generator=g)
    sd['decoder.0.weight'] = torch.randn(P * P * 3, D, 1, 1, generator=g) * .1
    sd['decoder.0.bias'] = torch.zeros(P * P * 3)
    sd['gToken2id.weight'] = torch.randn(64, 2 * D, generator=g)
    sd['gToken2id.bias'] = torch.zeros(64)
    return OrderedDict((k, v.half()) for k, v in sd.items())


def test_irra_converter_maps_and_covers():
    conv = _load('irra_to_sdtr')
    g = torch.Generator().manual_seed(0)
    ckpt = {'model': OrderedDict(('module.' + k, v) for k, v in
                                 _irra_state_dict(g).items()),
            'epoch': 60}
    res = conv.convert_irra(ckpt, classifier_to='losses.id.classifier')
    out = res['converted']
    assert out['image_encoder.conv1.weight'].dtype == torch.float32
    assert 'text_encoder.token_embedding.weight' in out
    assert out['losses.id.classifier.weight'].shape == (64, D)
    mlm = res['dropped']['IRRA MLM branch (no sdtr counterpart)']
    assert 'mlm_head.fc.weight' in mlm  # module. prefix stripped
    # full coverage of a CLIP retriever with SDM + ID(64 classes)
    state = conv.model_state_from_config(
        str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-person.py'),
        {'model.losses': dict(id=dict(type='IDLoss', in_channels=D,
                                      num_classes=64))})
    cov = conv.check_coverage(out, state)
    assert cov['missing'] == [] and cov['unexpected'] == []
    assert cov['mismatched'] == [] and cov.loaded == cov.total
    # unknown keys fail loudly, naming them
    bad = dict(_irra_state_dict(g, mlm=False))
    bad['something_new.weight'] = torch.zeros(1)
    with pytest.raises(KeyError, match='something_new'):
        conv.convert_irra(bad)
    with pytest.raises(KeyError, match='image_encoder'):
        conv.convert_irra({'classifier.weight': torch.zeros(1)})


def test_vfe_converter_cli_and_mim_head_numerics(tmp_path, capsys):
    conv = _load('vfe_tps_to_sdtr')
    g = torch.Generator().manual_seed(1)
    upstream = _vfe_state_dict(g)
    src = tmp_path / 'best.pth'
    torch.save({'model': upstream, 'epoch': 3}, src)
    dst = tmp_path / 'vfe_sdtr.pth'
    released = ['model.mask_generator.mode=token',
                'model.mim_head.text_guided=False',
                'model.mim_head.use_key_padding_mask=False']
    conv.main([str(src), str(dst), '--config', TINY, '--cfg-options',
               *released])
    log = capsys.readouterr().out
    assert 'covers' in log and 'gToken2id' in log
    # the paper config (pixel masking: no mask token) does not match
    with pytest.raises(SystemExit, match='does not match'):
        conv.main([str(src), str(tmp_path / 'x.pth'), '--config', TINY])
    assert 'mask_generator.mask_token' in capsys.readouterr().out

    # load into the sdtr model and compare the MIM head with the released
    # formula computed from the upstream tensors
    from mmengine.config import Config

    from sdtr.registry import MODELS
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({k.split('=')[0]: eval(k.split('=')[1]) if
                         k.split('=')[1] in ('False', 'True') else
                         k.split('=')[1] for k in released})
    model = MODELS.build(cfg.model.to_dict()).eval()
    state = torch.load(dst, weights_only=True)['state_dict']
    model.load_state_dict(state, strict=True)
    up = {k: v.float() for k, v in upstream.items()}

    def ln(name, x):
        return nn.functional.layer_norm(x, (D, ), up[f'{name}.weight'],
                                        up[f'{name}.bias'])

    mha = nn.MultiheadAttention(D, D // 64, batch_first=True)
    mha.load_state_dict({k[len('cross_attention_image.'):]: v
                         for k, v in up.items()
                         if k.startswith('cross_attention_image.')})
    from open_clip.transformer import QuickGELU, Transformer

    # the release builds these layers from IRRA's CLIP Transformer, whose
    # MLP uses QuickGELU (exact GELU would differ by ~1e-3)
    tr = Transformer(D, HEAD_LAYERS, D // 64, act_layer=QuickGELU)
    tr.load_state_dict({k[len('cross_modal_transformer_image.'):]: v
                        for k, v in up.items()
                        if k.startswith('cross_modal_transformer_image.')})
    feats = torch.randn(2, 1 + GRID[0] * GRID[1], D)
    with torch.no_grad():
        q = ln('image_ln_pre_i', feats)
        kv = ln('image_ln_pre_t', feats)
        z = ln('image_ln_post', tr(mha(q, kv, kv, need_weights=False)[0]))
        z = z[:, 1:].permute(0, 2, 1).reshape(2, D, *GRID)
        ref = nn.functional.pixel_shuffle(nn.functional.conv2d(
            z, up['decoder.0.weight'], up['decoder.0.bias']), P)
        ours = model.mim_head(feats, GRID)
    assert torch.allclose(ours, ref, atol=1e-4)
    assert torch.equal(model.mask_generator.mask_token,
                       up['mask_token'])
