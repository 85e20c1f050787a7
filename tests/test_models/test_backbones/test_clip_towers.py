"""Construction options and forward hooks of the CLIP towers."""
import pytest
import torch

from sdtr.models.backbones import (CLIPModifiedResNet, CLIPTextTransformer,
                                   CLIPVisionTransformer)
from sdtr.models.utils.clip_arch import resolve_tower_cfg
from sdtr.registry import MODELS

TINY = dict(arch=None, image_size=32, patch_size=8, width=64, layers=2,
            heads=2, embed_dim=32)


def test_arch_from_open_clip_configs():
    cfg = resolve_tower_cfg('ViT-B-32', 'vision', image_size=(384, 128))
    assert (cfg['patch_size'], cfg['width'], cfg['layers']) == (32, 768, 12)
    assert cfg['image_size'] == (384, 128) and cfg['embed_dim'] == 512
    assert cfg['act'] == 'gelu'
    assert resolve_tower_cfg('ViT-B-16-quickgelu', 'text')['act'] == \
        'quick_gelu'
    assert resolve_tower_cfg('RN50', 'vision')['layers'] == [3, 4, 6, 3]
    with pytest.raises(KeyError, match='unknown CLIP arch'):
        resolve_tower_cfg('ViT-X-99', 'vision')
    with pytest.raises(NotImplementedError):
        resolve_tower_cfg('ViT-B-16-SigLIP', 'vision')
    with pytest.raises(ValueError, match='act'):
        CLIPVisionTransformer(**TINY, act='relu')
    with pytest.raises(ValueError, match='divisible'):
        CLIPVisionTransformer(**dict(TINY, image_size=(36, 32)))
    with pytest.raises(ValueError, match='CLIPModifiedResNet'):
        CLIPVisionTransformer(arch='RN50')
    with pytest.raises(ValueError, match='CLIPVisionTransformer'):
        CLIPModifiedResNet(arch='ViT-B-16')


def test_activation_switch():
    from open_clip.transformer import QuickGELU
    quick = CLIPVisionTransformer(**TINY, act='quick_gelu')
    gelu = CLIPVisionTransformer(**TINY, act='gelu')
    assert isinstance(quick.transformer.resblocks[0].mlp.gelu, QuickGELU)
    assert isinstance(gelu.transformer.resblocks[0].mlp.gelu,
                      torch.nn.GELU)
    text = CLIPTextTransformer(arch=None, context_length=8, width=64,
                               heads=2, layers=1, embed_dim=32,
                               act='quick_gelu')
    assert isinstance(text.transformer.resblocks[0].mlp.gelu, QuickGELU)


def test_vision_split_forward_and_extra_tokens():
    torch.manual_seed(0)
    tower = MODELS.build(dict(type='CLIPVisionTransformer',
                              **dict(TINY, image_size=(48, 16)))).eval()
    assert tower.grid_size == (6, 2) and tower.num_patches == 12
    images = torch.randn(2, 3, 48, 16)
    with torch.no_grad():
        out = tower(images)
        patches = tower.embed(images)
        assert patches.shape == (2, 12, 64)
        split = tower.forward_tokens(patches)
        assert torch.equal(split['global'], out['global'])
        assert out['tokens'].shape == (2, 13, 32)
        assert torch.allclose(out['tokens'][:, 0], out['global'], atol=1e-6)
        # a later method may replace patches, e.g. with a mask token
        mask = torch.zeros(2, 12, 1)
        mask[:, :4] = 1
        masked = tower.forward_tokens(patches * (1 - mask) + 0.5 * mask)
        assert not torch.allclose(masked['global'], out['global'])
        extra = tower.forward_tokens(patches,
                                     extra_tokens=torch.randn(2, 3, 64))
        assert extra['tokens'].shape == (2, 3 + 13, 32)
        assert torch.allclose(extra['tokens'][:, 3], extra['global'],
                              atol=1e-6)
    with pytest.raises(ValueError, match='patch tokens'):
        tower.forward_tokens(patches[:, :5])


def test_text_outputs_and_checks():
    torch.manual_seed(0)
    tower = CLIPTextTransformer(arch=None, context_length=8, width=64,
                                heads=2, layers=2, embed_dim=32).eval()
    ids = torch.tensor([[49406, 320, 1125, 49407, 0, 0, 0, 0],
                        [49406, 320, 49407, 0, 0, 0, 0, 0]])
    with torch.no_grad():
        out = tower(ids)
        short = tower(ids[:, :5])  # fewer positions than the context
    assert out['global'].shape == (2, 32)
    assert out['tokens'].shape == (2, 8, 32)
    assert out['attention_mask'].tolist() == [[1, 1, 1, 1, 0, 0, 0, 0],
                                              [1, 1, 1, 0, 0, 0, 0, 0]]
    assert torch.allclose(out['tokens'][[0, 1], [3, 2]], out['global'],
                          atol=1e-6)
    # causal mask: padding after EOT does not change the EOT feature
    assert torch.allclose(short['global'], out['global'], atol=1e-5)
    with pytest.raises(ValueError, match='context length'):
        tower(torch.zeros(1, 9, dtype=torch.long))


def test_grad_checkpointing_and_init_cfg(tmp_path):
    tower = CLIPVisionTransformer(**TINY, with_cp=True).train()
    assert tower.transformer.grad_checkpointing
    tower(torch.randn(2, 3, 32, 32))['global'].sum().backward()
    assert tower.conv1.weight.grad is not None
    # mmengine-style init_cfg=Pretrained goes through the strict loader
    src = CLIPVisionTransformer(**TINY)
    torch.save({'state_dict': {'backbone.' + k: v
                               for k, v in src.state_dict().items()}},
               tmp_path / 'ckpt.pth')
    dst = CLIPVisionTransformer(**TINY, init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'ckpt.pth'),
        prefix='backbone.'))
    assert dst.init_cfg is None and dst.pretrained['prefix'] == 'backbone.'
    dst.init_weights()
    assert dst.is_init
    assert torch.equal(dst.proj, src.proj)
    with pytest.raises(TypeError, match='unknown pretrained options'):
        CLIPVisionTransformer(**TINY, pretrained=dict(checkpoint='x',
                                                      interp='bilinear'))
