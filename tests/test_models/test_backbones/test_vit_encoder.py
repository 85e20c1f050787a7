"""ViTEncoder (PIR Table I "ViT-B / BERT"): the token output of mmpretrain's
ViT, and the strict load of mmpretrain classifier checkpoints."""
import pytest
import torch
from mmpretrain.models import VisionTransformer

from sdtr.models.backbones import ViTEncoder
from sdtr.models.utils import CheckpointMismatchError

ARCH = dict(embed_dims=16, num_layers=2, num_heads=2,
            feedforward_channels=32)


def _encoder(**kw):
    torch.manual_seed(0)
    return ViTEncoder(arch=ARCH, img_size=32, patch_size=8, **kw)


def test_tokens_are_the_class_token_and_the_normed_patches():
    enc = _encoder().eval()
    assert enc.width == 16 and enc.grid_size == (4, 4)
    x = torch.randn(2, 3, 32, 32)
    out = enc(x)
    assert out.shape == (2, 1 + 16, 16)
    # the same network with mmpretrain's class-token output gives token 0
    ref = VisionTransformer(arch=ARCH, img_size=32, patch_size=8,
                            out_type='cls_token')
    ref.load_state_dict(enc.vit.state_dict())
    ref.eval()  # (mmpretrain's train() returns None)
    torch.testing.assert_close(out[:, 0], ref(x)[-1])


def _classifier_checkpoint(tmp_path, grid=4):
    """An mmpretrain ImageClassifier state dict (``backbone.*`` + head)."""
    src = VisionTransformer(arch=ARCH, img_size=8 * grid, patch_size=8)
    state = {f'backbone.{k}': v for k, v in src.state_dict().items()}
    state['head.layers.head.weight'] = torch.zeros(10, 16)
    state['head.layers.head.bias'] = torch.zeros(10)
    path = tmp_path / 'vit_cls.pth'
    torch.save({'state_dict': state}, path)
    return path, src


def test_loads_an_mmpretrain_classifier_and_drops_its_head(tmp_path):
    path, src = _classifier_checkpoint(tmp_path)
    enc = _encoder(pretrained=dict(checkpoint=str(path)))
    enc.init_weights()
    for k, v in src.state_dict().items():
        torch.testing.assert_close(enc.vit.state_dict()[k], v)
    report = enc.load_pretrained(str(path))
    assert report.coverage == 1.0
    assert 'head.layers.head.weight' in report.dropped


def test_position_embedding_of_another_grid_is_resized(tmp_path):
    path, src = _classifier_checkpoint(tmp_path, grid=2)  # 2x2 -> 4x4
    enc = _encoder()
    report = enc.load_pretrained(str(path))
    assert enc.vit.pos_embed.shape == (1, 17, 16)
    assert any('pos_embed resized' in n for n in report.notes)
    # the class-token position is kept as it is
    torch.testing.assert_close(enc.vit.pos_embed[0, 0],
                               src.pos_embed[0, 0])


def test_a_checkpoint_of_another_width_is_refused(tmp_path):
    other = VisionTransformer(arch=dict(ARCH, embed_dims=8, num_heads=1,
                                        feedforward_channels=16),
                              img_size=32, patch_size=8)
    path = tmp_path / 'narrow.pth'
    torch.save({f'backbone.{k}': v for k, v in other.state_dict().items()},
               path)
    with pytest.raises(CheckpointMismatchError):
        _encoder().load_pretrained(str(path))
