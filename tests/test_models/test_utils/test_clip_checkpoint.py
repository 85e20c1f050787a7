"""Reading open_clip-format checkpoints (all formats) and strict loading."""
import hashlib
import re

import pytest
import torch
from open_clip.model import CLIP
from safetensors.torch import save_file

from sdtr.models.backbones import CLIPTextTransformer, CLIPVisionTransformer
from sdtr.models.retrievers import CLIPRetriever
from sdtr.models.utils import CheckpointMismatchError
from sdtr.models.utils import read_state_dict as load_clip_state_dict
from sdtr.models.utils import (resize_text_pos_embed, resize_vision_pos_embed,
                               split_clip_state_dict)

VISION = dict(arch=None, image_size=32, patch_size=8, width=64, layers=2,
              heads=1, embed_dim=32)
TEXT = dict(arch=None, context_length=16, width=64, heads=1, layers=2,
            embed_dim=32)


@pytest.fixture(scope='module')
def ref():
    torch.manual_seed(0)
    return CLIP(32, dict(image_size=32, layers=2, width=64, patch_size=8),
                dict(context_length=16, vocab_size=49408, width=64, heads=1,
                     layers=2), quick_gelu=True).eval()


def _equal(a, b):
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_formats(tmp_path, ref):
    sd = ref.state_dict()
    # plain state dict
    torch.save(sd, tmp_path / 'plain.pt')
    assert _equal(load_clip_state_dict(str(tmp_path / 'plain.pt')), sd)
    # {'state_dict': ...} with DDP's 'module.' prefix (open_clip training)
    torch.save({'epoch': 3, 'state_dict': {'module.' + k: v
                                           for k, v in sd.items()}},
               tmp_path / 'wrapped.pt')
    assert _equal(load_clip_state_dict(str(tmp_path / 'wrapped.pt')), sd)
    # safetensors
    save_file({k: v.contiguous() for k, v in sd.items()},
              str(tmp_path / 'w.safetensors'))
    assert _equal(load_clip_state_dict(str(tmp_path / 'w.safetensors')), sd)
    # in-memory dict
    assert _equal(load_clip_state_dict(dict(sd)), sd)


@pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')
@pytest.mark.filterwarnings('ignore:.*TorchScript archive')
@pytest.mark.filterwarnings('ignore::FutureWarning')
def test_openai_torchscript_archive(tmp_path, ref, monkeypatch):
    """OpenAI releases are TorchScript archives with non-weight entries; they
    are read as data (torch.jit.load never runs) and give exactly the state
    dict torch.jit.load would, and the CLIP converter drops the
    constants."""
    sd = ref.state_dict()
    model = CLIP(32, dict(image_size=32, layers=2, width=64, patch_size=8),
                 dict(context_length=16, vocab_size=49408, width=64, heads=1,
                      layers=2), quick_gelu=True).eval()
    model.load_state_dict(sd)
    model.half()  # OpenAI archives hold fp16 weights
    for name, value in (('input_resolution', 32), ('context_length', 16),
                        ('vocab_size', 49408)):
        if hasattr(model, name):
            delattr(model, name)
        model.register_buffer(name, torch.tensor(value))
    traced = torch.jit.trace_module(
        model, dict(encode_image=(torch.randn(1, 3, 32, 32).half(), )),
        check_trace=False)
    torch.jit.save(traced, str(tmp_path / 'ViT-T.pt'))
    # the file cannot be read with weights_only=True torch.load ...
    with pytest.raises(Exception):
        torch.load(tmp_path / 'ViT-T.pt', weights_only=True)
    expected = torch.jit.load(str(tmp_path / 'ViT-T.pt')).state_dict()

    def never(*args, **kwargs):
        raise AssertionError('torch.jit.load ran')

    monkeypatch.setattr(torch.jit, 'load', never)
    # ... but its tensors are read as data
    loaded = load_clip_state_dict(str(tmp_path / 'ViT-T.pt'))
    assert list(loaded) == list(expected)
    assert all(torch.equal(loaded[k], v) and loaded[k].dtype == v.dtype
               for k, v in expected.items())
    assert set(loaded) - set(sd) == {'input_resolution', 'context_length',
                                     'vocab_size', 'attn_mask'}
    vis = CLIPVisionTransformer(**VISION, act='quick_gelu',
                                pretrained=str(tmp_path / 'ViT-T.pt'))
    report = vis.load_pretrained()
    assert 'input_resolution' in report.dropped
    assert vis.conv1.weight.dtype == torch.float32
    assert torch.equal(vis.conv1.weight, sd['visual.conv1.weight'].half()
                       .float())


def test_url_download_with_hash(tmp_path, ref, monkeypatch):
    """URLs go through torch.hub's cache; the hash in the URL is checked."""
    path = tmp_path / 'src.pt'
    torch.save(ref.state_dict(), path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setattr(torch.hub, '_hub_dir', str(tmp_path / 'hub'))
    calls = []

    def fake_urlopen(req, *args, **kwargs):  # serve the local file
        import urllib.request
        calls.append(req.full_url)
        return urllib.request.urlopen(path.as_uri())

    monkeypatch.setattr(torch.hub, 'urlopen', fake_urlopen)
    url = f'https://example.invalid/clip/{digest}/ViT-T.pt'
    sd = load_clip_state_dict(url, check_hash=True)
    assert _equal(sd, ref.state_dict())
    cached = list((tmp_path / 'hub' / 'checkpoints').iterdir())
    assert len(cached) == 1 and cached[0].name.endswith('ViT-T.pt')
    load_clip_state_dict(url, check_hash=True)  # cached: no new download
    assert len(calls) == 1
    bad = f'https://example.invalid/clip/{"0" * 64}/ViT-T.pt'
    with pytest.raises(RuntimeError, match='(?i)hash'):
        load_clip_state_dict(bad, check_hash=True)
    # a tower loads straight from a URL in init_weights
    vis = CLIPVisionTransformer(**VISION, act='quick_gelu',
                                pretrained=dict(checkpoint=url,
                                                check_hash=True))
    vis.init_weights()
    assert torch.equal(vis.proj, ref.visual.proj)


def test_split(ref):
    parts = split_clip_state_dict(ref.state_dict())
    assert set(parts['visual']) == set(ref.visual.state_dict())
    assert 'token_embedding.weight' in parts['text']
    assert 'text_projection' in parts['text']
    assert not any(k.startswith('visual') for k in parts['text'])
    assert parts['logit_scale'] is not None and not parts['others']
    # open_clip CustomTextCLIP layout (text.*)
    custom = {('text.' + k if not k.startswith(('visual.', 'logit')) else k):
              v for k, v in ref.state_dict().items()}
    assert set(split_clip_state_dict(custom)['text']) == set(parts['text'])


def test_strict_errors_list_every_key(ref):
    sd = dict(ref.state_dict())
    del sd['visual.ln_post.bias']
    sd['visual.extra.weight'] = torch.zeros(1)
    vis = CLIPVisionTransformer(**dict(VISION, width=64), act='quick_gelu')
    with pytest.raises(CheckpointMismatchError) as err:
        vis.load_pretrained(sd)
    msg = str(err.value)
    assert 'missing keys (1): ln_post.bias' in msg
    assert 'unexpected keys (1): extra.weight' in msg
    before = vis.conv1.weight.clone()
    assert torch.equal(vis.conv1.weight, before)  # nothing was loaded
    # a shape mismatch (different embed dim)
    other = CLIPVisionTransformer(**dict(VISION, embed_dim=16))
    with pytest.raises(CheckpointMismatchError, match=r'proj: checkpoint '
                       r'\(64, 32\) vs model \(64, 16\)'):
        other.load_pretrained(ref.state_dict())
    # explicit exclusions are allowed and reported
    report = other.load_pretrained(ref.state_dict(), ignore_keys=['^proj$'])
    assert report['ignored'] == ['proj']
    assert report['loaded'] == report['total'] - 1


def test_text_context_resize_and_retriever_errors(ref):
    txt = CLIPTextTransformer(**dict(TEXT, context_length=8))
    txt.load_pretrained(ref.state_dict())
    src = ref.positional_embedding.detach()
    assert torch.allclose(txt.positional_embedding,
                          resize_text_pos_embed(src, 8))
    txt.load_pretrained(ref.state_dict(), text_pos_resize='truncate')
    assert torch.equal(txt.positional_embedding, src[:8])
    model = CLIPRetriever(
        image_encoder=dict(type='CLIPVisionTransformer', **VISION),
        text_encoder=dict(type='CLIPTextTransformer', **TEXT),
        tokenizer=dict(type='CLIPTokenizer', context_length=16),
        losses=dict(type='InfoNCELoss'))
    sd = dict(ref.state_dict(), logit_bias=torch.zeros(()))
    with pytest.raises(CheckpointMismatchError, match='logit_bias'):
        model.load_pretrained(sd)
    report = model.load_pretrained(sd, ignore_keys=['^logit_bias$'])
    assert report['logit_scale'].loaded == 1
    assert report['image']['coverage'] == 1.0
    with pytest.raises(TypeError, match='unknown'):
        model.load_pretrained(sd, interpolaton='bilinear')


def test_resize_vision_pos_embed():
    pos = torch.randn(1 + 4 * 4, 8)
    out = resize_vision_pos_embed(pos, (6, 2))
    assert out.shape == (13, 8) and torch.equal(out[0], pos[0])
    assert resize_vision_pos_embed(pos, (4, 4)) is pos
    with pytest.raises(ValueError, match='old_grid_size'):
        resize_vision_pos_embed(torch.randn(1 + 6, 8), (2, 2))
    ok = resize_vision_pos_embed(torch.randn(1 + 6, 8), (4, 2),
                                 old_grid_size=(3, 2))
    assert ok.shape == (9, 8)
    assert re.search('bilinear', resize_vision_pos_embed.__doc__)
