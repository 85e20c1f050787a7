"""Gallery files (.safetensors): round trip, refusals naming the file, and
non-finite features refused with the items they belong to."""
import pytest
import torch
import torch.nn.functional as F

from sdtr.search import Gallery, load_gallery, save_gallery
from sdtr.utils.errors import SdtrError


def test_gallery_roundtrip(tmp_path):
    feats = F.normalize(torch.randn(3, 8), dim=-1).half()
    path = str(tmp_path / 'g.safetensors')
    save_gallery(Gallery(feats, ['a.png', 'b.png', 'c.png'], 'image',
                         dict(config='x.py')), path)
    back = load_gallery(path)
    assert torch.equal(back.features, feats)
    assert back.items == ['a.png', 'b.png', 'c.png']
    assert back.kind == 'image' and back.info == dict(config='x.py')


def test_gallery_errors(tmp_path):
    with pytest.raises(ValueError, match='2 item names'):
        Gallery(torch.zeros(3, 2), ['a', 'b'])
    with pytest.raises(FileNotFoundError, match='nope.safetensors'):
        load_gallery(str(tmp_path / 'nope.safetensors'))
    bad = tmp_path / 'bad.safetensors'
    bad.write_bytes(b'not a safetensors file')
    with pytest.raises(SdtrError, match='bad.safetensors'):
        load_gallery(str(bad))
    from safetensors.torch import save_file
    other = str(tmp_path / 'other.safetensors')
    save_file({'features': torch.zeros(2, 2)}, other)
    with pytest.raises(SdtrError, match='not an sdtr gallery'):
        load_gallery(other)


def test_non_finite_features_are_refused(tmp_path):
    feats = F.normalize(torch.randn(4, 8), dim=-1)
    feats[2, 0] = float('nan')
    with pytest.raises(SdtrError, match=r"1 of 4 gallery feature rows hold "
                       r"NaN or inf \(rows \[2\]: \['c.png'\]\)"):
        Gallery(feats, ['a.png', 'b.png', 'c.png', 'd.png'])
    # a file that holds one (written by hand) is refused naming the file
    from safetensors.torch import save_file
    path = str(tmp_path / 'nan.safetensors')
    save_file({'features': feats}, path, metadata=dict(
        format='sdtr-gallery-v1', kind='image', info='{}',
        items='["a.png", "b.png", "c.png", "d.png"]'))
    with pytest.raises(SdtrError, match='nan.safetensors.*NaN or inf'):
        load_gallery(path)
