"""Swin encoder: PIR token layout, Microsoft-checkpoint conversion checked
against an independent implementation (timm, Microsoft-compatible patch
merging), strict loading with key-coverage errors."""
import pytest
import torch

from sdtr.models.backbones import SwinTransformerEncoder
from sdtr.models.utils import CheckpointMismatchError
from sdtr.models.utils.swin_checkpoint import (convert_microsoft_swin,
                                               is_microsoft_swin)

ARCH = dict(embed_dims=16, depths=[2, 2], num_heads=[2, 4])


def _encoder(**kw):
    return SwinTransformerEncoder(
        arch=ARCH, img_size=64, patch_size=4, window_size=8,
        drop_path_rate=0., **kw).eval()


def _microsoft_state_dict():
    """A random Swin in Microsoft's key layout (via timm, whose blocks and
    patch merging follow Microsoft's code; timm files the downsample under
    the next stage, Microsoft under the current one)."""
    timm = pytest.importorskip('timm')
    from timm.models.swin_transformer import SwinTransformer
    torch.manual_seed(0)
    ref = SwinTransformer(
        img_size=64, patch_size=4, window_size=8, embed_dim=16,
        depths=(2, 2), num_heads=(2, 4), num_classes=5,
        drop_path_rate=0.).eval()
    del timm
    sd = {}
    for k, v in ref.state_dict().items():
        if '.downsample.' in k:
            i = int(k.split('.')[1])
            k = k.replace(f'layers.{i}.', f'layers.{i - 1}.', 1)
        if k.startswith('head.fc.'):
            k = k.replace('head.fc.', 'head.')
        sd[k] = v
    sd['layers.0.blocks.1.attn_mask'] = torch.zeros(4, 64, 64)
    return ref, sd


def test_tokens_layout():
    enc = _encoder()
    assert enc.grid_size == (8, 8) and enc.width == 32
    x = torch.randn(2, 3, 64, 64)
    out = enc(x)
    assert out.shape == (2, 65, 32)
    torch.testing.assert_close(out[:, 0], out[:, 1:].mean(1))


def test_microsoft_checkpoint_parity(tmp_path):
    ref, sd = _microsoft_state_dict()
    assert is_microsoft_swin(sd)
    path = tmp_path / 'swin_ms.pth'
    torch.save({'model': sd}, path)
    enc = _encoder(pretrained=dict(checkpoint=str(path)))
    enc.init_weights()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expect = ref.forward_features(x).flatten(1, 2)
        got = enc(x)[:, 1:]
    torch.testing.assert_close(got, expect, rtol=1e-4, atol=1e-4)
    report = enc.load_pretrained(str(path))
    assert report['coverage'] > 0.9
    assert 'head.weight' in report['dropped']
    assert 'layers.0.blocks.1.attn_mask' in report['dropped']


def test_converter_rejects_unknown_and_strict_errors(tmp_path):
    _, sd = _microsoft_state_dict()
    with pytest.raises(KeyError, match='unknown keys'):
        convert_microsoft_swin(dict(sd, **{'foo.bar': torch.zeros(1)}), 2)
    bad = dict(sd)
    bad.pop('layers.1.blocks.0.mlp.fc1.weight')
    path = tmp_path / 'bad.pth'
    torch.save({'model': bad}, path)
    enc = _encoder(pretrained=str(path))
    with pytest.raises(CheckpointMismatchError,
                       match=r'missing keys \(1\).*stages\.1\.blocks\.0\.'
                       r'ffn\.layers\.0\.0\.weight'):
        enc.init_weights()
    # a checkpoint of another architecture: shape mismatches are named
    other = SwinTransformerEncoder(
        arch=dict(embed_dims=8, depths=[2, 2], num_heads=[2, 4]),
        img_size=64, window_size=8)
    with pytest.raises(CheckpointMismatchError, match='shape mismatches'):
        other.load_pretrained(str(tmp_path / 'bad.pth'))
    with pytest.raises(KeyError, match='unknown Swin arch'):
        SwinTransformerEncoder(arch='gigantic')
