"""PIR-CLIP image side: soft belief + instruction token placement, pooled
output switch, and loading OpenAI-layout ViT-B/32 / RN50 state dicts."""
import gc

import pytest
import torch
import torch.nn.functional as F

from sdtr.models.backbones import (CLIPModifiedResNet,
                                   PIRCLIPVisionTransformer,
                                   PIRInstructionEncoder)
from sdtr.models.utils import CheckpointMismatchError

TINY = dict(arch=None, image_size=32, patch_size=8, width=64, layers=2,
            heads=2, embed_dim=32, act='quick_gelu')


def _tower(rank_mode, pool='instruction'):
    torch.manual_seed(0)
    return PIRCLIPVisionTransformer(
        belief=dict(type='SoftBelief', rank_mode=rank_mode), pool=pool,
        **TINY).eval()


def _reference_belief(x, y, rank_mode):
    """Written out from docs/methods/pir.md#4-soft-belief, loops on purpose."""
    B, N, C = x.shape
    out = torch.empty_like(x)
    for b in range(B):
        logits = torch.stack([x[b, j] @ y[b] for j in range(N)])
        belief = logits.softmax(0)
        order = sorted(range(N), key=lambda j: (-belief[j].item(), j))
        w = torch.empty(N)
        for pos, j in enumerate(order):
            if rank_mode == 'paper':
                w[j] = 1 / (pos + 1)**0.5          # rank of token j
            else:
                w[pos] = 1 / (j + 1)**0.5          # index of the pos-th
        out[b] = x[b] * (belief + w)[:, None]
        dim = -1 if rank_mode == 'paper' else 0
        out[b] = F.normalize(out[b], dim=dim)
    return out


@pytest.mark.parametrize('rank_mode', ['paper', 'released'])
@pytest.mark.parametrize('batch', [1, 3])
def test_belief_and_instruction_token_exact(rank_mode, batch):
    tower = _tower(rank_mode)
    torch.manual_seed(1)
    images = torch.randn(batch, 3, 32, 32)
    y = torch.randn(batch, 64)
    captured = {}
    original = tower.transformer.forward

    def spy(x, *args, **kwargs):
        captured['seq'] = x.detach().clone()
        return original(x, *args, **kwargs)

    tower.transformer.forward = spy
    with torch.no_grad():
        out = tower(images, y)
        # reference: class token + patches + pos, ln_pre, belief, [y; x]
        patches = tower.conv1(images).flatten(2).transpose(1, 2)
        cls = tower.class_embedding.view(1, 1, -1).expand(batch, -1, -1)
        x = torch.cat([cls, patches], 1) + tower.positional_embedding
        x = tower.ln_pre(x)
        expected = _reference_belief(x, y, rank_mode)
    seq = captured['seq']
    assert seq.shape == (batch, 2 + tower.num_patches, 64)
    # instruction token first, unchanged, no position embedding
    assert torch.equal(seq[:, 0], y)
    torch.testing.assert_close(seq[:, 1:], expected, rtol=1e-5, atol=1e-6)
    norms = seq[:, 1:].norm(dim=-1 if rank_mode == 'paper' else 1)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    # pooled output at the instruction position (released default)
    assert out['tokens'].shape == (batch, 2 + tower.num_patches, 32)
    torch.testing.assert_close(out['global'], out['tokens'][:, 0])


def test_modes_differ_and_pool_switch():
    torch.manual_seed(2)
    images, y = torch.randn(2, 3, 32, 32), torch.randn(2, 64)
    with torch.no_grad():
        paper = _tower('paper')(images, y)
        released = _tower('released')(images, y)
        cls_pool = _tower('paper', pool='class')(images, y)
    assert not torch.allclose(paper['tokens'], released['tokens'])
    torch.testing.assert_close(cls_pool['global'], cls_pool['tokens'][:, 1])
    torch.testing.assert_close(cls_pool['tokens'], paper['tokens'])
    with pytest.raises(ValueError, match='pool'):
        PIRCLIPVisionTransformer(pool='mean', **TINY)
    with pytest.raises(ValueError, match='instruction'):
        _tower('paper')(images)
    with pytest.raises(ValueError, match=r'\[B, width\]'):
        _tower('paper')(images, torch.randn(2, 32))


def _open_clip_visual(embed_dim, vision_cfg):
    from open_clip.model import CLIPVisionCfg, _build_vision_tower
    torch.manual_seed(0)
    tower = _build_vision_tower(embed_dim, CLIPVisionCfg(**vision_cfg),
                                quick_gelu=True)
    return {f'visual.{k}': v for k, v in tower.state_dict().items()}


def test_openai_vit_b32_layout_loads_fully():
    # random values, key layout of open_clip's (= OpenAI's) ViT-B/32
    sd = _open_clip_visual(512, dict(image_size=224, patch_size=32,
                                     width=768, layers=12))
    sd['logit_scale'] = torch.tensor(4.6)
    tower = PIRCLIPVisionTransformer(arch='ViT-B-32', image_size=224,
                                     patch_size=32, act='quick_gelu')
    report = tower.load_pretrained(sd)
    assert report['coverage'] == 1.0 and report['loaded'] == report['total']
    assert report['total'] == len([k for k in sd if k.startswith('visual.')])
    assert torch.equal(tower.positional_embedding,
                       sd['visual.positional_embedding'])
    assert tower.positional_embedding.shape == (50, 768)  # 7x7 + cls
    del sd, tower
    gc.collect()


def test_openai_rn50_layout_reports_reinitialised_keys():
    sd = _open_clip_visual(1024, dict(image_size=224, layers=[3, 4, 6, 3],
                                      width=64))
    enc = PIRInstructionEncoder(out_dim=768, freeze_trunk=True)
    before = enc.resnet.attnpool.c_proj.weight.detach().clone()
    report = enc.load_pretrained(sd)
    assert report['reinitialized'] == ['attnpool.c_proj.bias',
                                       'attnpool.c_proj.weight']
    total = len(enc.resnet.state_dict())
    assert report['total'] == total and report['loaded'] == total - 2
    assert sorted(report['ignored']) == report['reinitialized']
    assert torch.equal(enc.resnet.layer4[2].conv3.weight,
                       sd['visual.layer4.2.conv3.weight'])
    assert torch.equal(enc.resnet.attnpool.c_proj.weight, before)
    assert enc.resnet.attnpool.c_proj.weight.shape == (512, 2048)
    # strict without re-initialisation: a clear error naming the key
    with pytest.raises(CheckpointMismatchError, match='attnpool.c_proj'):
        PIRInstructionEncoder(out_dim=768).load_pretrained(
            sd, reinit_keys=())
    # any other mismatched tensor is an error naming it, even with the
    # default reinit_keys, and nothing is loaded
    sd['visual.layer1.0.conv1.weight'] = torch.zeros(3, 64, 1, 1)
    enc = PIRInstructionEncoder(out_dim=768)
    before = enc.resnet.layer4[2].conv3.weight.detach().clone()
    with pytest.raises(CheckpointMismatchError,
                       match=r'1 shape mismatch.*layer1\.0\.conv1\.weight: '
                       r'checkpoint \(3, 64, 1, 1\) vs model \(64, 64, 1, 1\)'):
        enc.load_pretrained(sd)
    assert torch.equal(enc.resnet.layer4[2].conv3.weight, before)
    del sd, enc
    gc.collect()


def test_wrong_width_resnet_is_not_silently_reinitialised():
    # same key names as RN50, other width: every tensor mismatches; only the
    # two attention-pool projection tensors may be re-initialised
    sd = _open_clip_visual(1024, dict(image_size=224, layers=[3, 4, 6, 3],
                                      width=32))
    enc = PIRInstructionEncoder(out_dim=768)
    with pytest.raises(CheckpointMismatchError) as err:
        enc.load_pretrained(sd)
    msg = str(err.value)
    assert 'conv1.weight' in msg and 'layer4.2.conv3.weight' in msg
    n = int(msg.split(': ')[1].split(' shape')[0])
    assert n > 100  # every mismatched key is listed (all but c_proj)
    assert "'attnpool.c_proj.bias', 'attnpool.c_proj.weight'" in msg
    # a narrower allowance is honoured too
    sd50 = _open_clip_visual(1024, dict(image_size=224, layers=[3, 4, 6, 3],
                                        width=64))
    with pytest.raises(CheckpointMismatchError, match='c_proj.bias'):
        PIRInstructionEncoder(out_dim=768).load_pretrained(
            sd50, reinit_keys=['attnpool.c_proj.weight'])
    del sd, sd50, enc
    gc.collect()


def test_instruction_encoder_freezing_and_output():
    resnet = dict(type='CLIPModifiedResNet', arch=None, image_size=64,
                  layers=[1, 1, 1, 1], width=8, embed_dim=16)
    enc = PIRInstructionEncoder(resnet=resnet, out_dim=24, freeze_trunk=True)
    assert isinstance(enc.resnet, CLIPModifiedResNet)
    frozen = [n for n, p in enc.named_parameters() if not p.requires_grad]
    assert frozen and all(not n.startswith(('resnet.attnpool', 'proj'))
                          for n in frozen)
    enc.train()
    assert not enc.resnet.bn1.training and enc.resnet.attnpool.training
    out = enc(torch.randn(1, 3, 64, 64))  # B = 1 works
    assert out.shape == (1, 24)
    free = PIRInstructionEncoder(resnet=resnet, out_dim=24,
                                 freeze_trunk=False)
    assert all(p.requires_grad for p in free.parameters())
