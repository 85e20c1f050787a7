"""Numerical parity of the sdtr CLIP towers with open_clip's own CLIP."""
import open_clip
import pytest
import torch
from open_clip.model import CLIP
from types import SimpleNamespace

from sdtr.models.backbones import (CLIPModifiedResNet, CLIPTextTransformer,
                                   CLIPVisionTransformer)
from sdtr.models.retrievers import CLIPRetriever

CAPTIONS = ['a photo of a cat', 'many planes are parked next to a terminal '
            'building with several green trees around it']
TOL = 1e-5


def _text_keys(sd):
    return {k for k in sd if not k.startswith('visual.') and
            k != 'logit_scale'}


# ----------------------------------------------------------------- ViT-B/16
@pytest.fixture(scope='module')
def b16_checkpoint(tmp_path_factory):
    """A randomly initialised open_clip ViT-B-16 saved as a plain file."""
    torch.manual_seed(0)
    ref = open_clip.create_model('ViT-B-16').eval()
    with torch.no_grad():  # make the logit scale distinguishable
        ref.logit_scale.fill_(3.0)
    path = tmp_path_factory.mktemp('b16') / 'vit-b16.pt'
    torch.save(ref.state_dict(), path)
    return SimpleNamespace(path=str(path), ref=ref)


@pytest.mark.parametrize('act', ['gelu', 'quick_gelu'])
def test_vit_b16_parity(b16_checkpoint, act):
    if act == 'gelu':
        ref = b16_checkpoint.ref
    else:  # the same weights in open_clip's QuickGELU model
        ref = open_clip.create_model('ViT-B-16-quickgelu').eval()
        ref.load_state_dict(torch.load(b16_checkpoint.path,
                                       weights_only=True))
    model = CLIPRetriever(
        image_encoder=dict(type='CLIPVisionTransformer', arch='ViT-B-16',
                           act=act),
        text_encoder=dict(type='CLIPTextTransformer', arch='ViT-B-16',
                          act=act),
        tokenizer=dict(type='CLIPTokenizer'),
        losses=dict(type='InfoNCELoss'),
        pretrained=dict(checkpoint=b16_checkpoint.path)).eval()
    model.init_weights()
    # identical key sets (towers vs open_clip CLIP)
    ref_sd = ref.state_dict()
    assert set(model.image_encoder.state_dict()) == {
        k[len('visual.'):] for k in ref_sd if k.startswith('visual.')}
    assert set(model.text_encoder.state_dict()) == _text_keys(ref_sd)
    # open_clip's top-level `logit_scale` is the model's (one scale, as
    # open_clip), loaded from the checkpoint
    assert model.logit_scale.item() == 3.0
    torch.testing.assert_close(model.state_dict()['logit_scale'],
                               ref_sd['logit_scale'])

    torch.manual_seed(1)
    images = torch.randn(2, 3, 224, 224)
    ids = open_clip.tokenize(CAPTIONS)
    with torch.no_grad():
        img = model.encode_image(images)
        txt = model.encode_text(CAPTIONS)
        ref_img = ref.encode_image(images)
        ref_txt = ref.encode_text(ids)
    diff_img = (img['global'] - ref_img).abs().max().item()
    diff_txt = (txt['global'] - ref_txt).abs().max().item()
    print(f'ViT-B-16 {act}: max |image diff| = {diff_img:.3g}, '
          f'max |text diff| = {diff_txt:.3g}')
    assert diff_img <= TOL and diff_txt <= TOL
    assert img['tokens'].shape == (2, 197, 512)
    assert txt['tokens'].shape == (2, 77, 512)
    assert torch.equal(txt['input_ids'], ids)


def test_vit_b16_resized_384x128(b16_checkpoint):
    """The 224 checkpoint loads into a 384x128 tower (24x8 grid)."""
    ckpt = b16_checkpoint.path
    tower = CLIPVisionTransformer(
        arch='ViT-B-16', image_size=(384, 128), act='quick_gelu',
        pretrained=dict(checkpoint=ckpt)).eval()
    assert tower.grid_size == (24, 8)
    tower.init_weights()
    sd = {'visual.positional_embedding':
          b16_checkpoint.ref.visual.positional_embedding.detach().clone()}
    open_clip.model.resize_pos_embed(
        sd, SimpleNamespace(visual=SimpleNamespace(grid_size=(24, 8))))
    assert torch.allclose(tower.positional_embedding,
                          sd['visual.positional_embedding'])
    # class-token row untouched; other weights copied verbatim
    ref_visual = b16_checkpoint.ref.visual
    assert torch.equal(tower.positional_embedding[0],
                       ref_visual.positional_embedding[0])
    assert torch.equal(tower.conv1.weight, ref_visual.conv1.weight)
    with torch.no_grad():
        out = tower(torch.randn(1, 3, 384, 128))
    assert out['global'].shape == (1, 512)
    assert out['tokens'].shape == (1, 193, 512)
    # IRRA's option: bilinear without antialias
    irra = CLIPVisionTransformer(arch='ViT-B-16', image_size=(384, 128),
                                 layers=1)
    state = {k[len('visual.'):]: v for k, v in
             torch.load(ckpt, weights_only=True).items()
             if k.startswith('visual.') and
             not k.startswith('visual.transformer.resblocks.') or
             k.startswith('visual.transformer.resblocks.0.')}
    irra.load_pretrained(state, interpolation='bilinear',
                        antialias=False)
    grid = ref_visual.positional_embedding[1:].reshape(1, 14, 14, -1)
    expected = torch.nn.functional.interpolate(
        grid.permute(0, 3, 1, 2), size=(24, 8), mode='bilinear',
        align_corners=False).permute(0, 2, 3, 1).reshape(192, -1)
    assert torch.allclose(irra.positional_embedding[1:], expected, atol=1e-6)


# --------------------------------------------------------------------- tiny
TINY_V = dict(image_size=64, layers=3, width=128, patch_size=8)
TINY_T = dict(context_length=32, vocab_size=49408, width=128, heads=2,
              layers=3)


@pytest.mark.parametrize('image_size', [64, 224])
@pytest.mark.parametrize('quick_gelu', [False, True])
def test_tiny_parity(tmp_path, image_size, quick_gelu):
    torch.manual_seed(0)
    ref = CLIP(128, dict(TINY_V, image_size=image_size), TINY_T,
               quick_gelu=quick_gelu).eval()
    path = tmp_path / 'tiny.pt'
    torch.save(ref.state_dict(), path)
    act = 'quick_gelu' if quick_gelu else 'gelu'
    vis = CLIPVisionTransformer(
        arch=None, image_size=image_size, patch_size=8, width=128, layers=3,
        heads=2, embed_dim=128, act=act, pretrained=str(path)).eval()
    txt = CLIPTextTransformer(
        arch=None, context_length=32, width=128, heads=2, layers=3,
        embed_dim=128, act=act, pretrained=dict(checkpoint=str(path))).eval()
    vis.init_weights()
    txt.init_weights()
    ref_sd = ref.state_dict()
    assert {'visual.' + k for k in vis.state_dict()} | set(
        txt.state_dict()) | {'logit_scale'} == set(ref_sd)
    images = torch.randn(3, 3, image_size, image_size)
    ids = open_clip.tokenize(CAPTIONS + ['x'], context_length=32)
    with torch.no_grad():
        d_img = (vis(images)['global'] - ref.encode_image(images)).abs().max()
        d_txt = (txt(ids)['global'] - ref.encode_text(ids)).abs().max()
    assert d_img <= TOL and d_txt <= TOL


def test_modified_resnet_parity(tmp_path):
    torch.manual_seed(0)
    ref = CLIP(64, dict(image_size=64, layers=[1, 1, 1, 1], width=32),
               TINY_T).eval()
    torch.save({'state_dict': ref.state_dict()}, tmp_path / 'rn.pt')
    tower = CLIPModifiedResNet(
        arch=None, image_size=64, layers=[1, 1, 1, 1], width=32,
        embed_dim=64, pretrained=str(tmp_path / 'rn.pt')).eval()
    tower.init_weights()
    assert {'visual.' + k for k in tower.state_dict()} == {
        k for k in ref.state_dict() if k.startswith('visual.')}
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        out = tower(x)
        ref_out = ref.encode_image(x)
    assert (out['global'] - ref_out).abs().max() <= TOL
    assert out['tokens'].shape == (2, 1 + 2 * 2, 64)
    assert torch.equal(out['tokens'][:, 0], out['global'])
    # non-square input: the attention-pool table is resized (2x2 -> 3x1)
    tall = CLIPModifiedResNet(arch=None, image_size=(96, 32),
                              layers=[1, 1, 1, 1], width=32, embed_dim=64)
    tall.load_pretrained(str(tmp_path / 'rn.pt'))
    assert tall.attnpool.positional_embedding.shape == (4, 1024)
    assert tall(torch.randn(1, 3, 96, 32))['tokens'].shape == (1, 4, 64)
