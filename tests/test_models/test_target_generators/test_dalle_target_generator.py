"""mmpretrain's DALL-E encoder as the visual tokenizer of Image KLR."""
import pytest
import torch

from sdtr.models.target_generators import DALLETargetGenerator
from sdtr.models.utils import CheckpointMismatchError

TINY = dict(group_count=4, n_hid=8, n_blk_per_group=1, vocab_size=32)
MEAN = torch.tensor(DALLETargetGenerator.__init__.__defaults__[4]).view(
    1, 3, 1, 1)
STD = torch.tensor(DALLETargetGenerator.__init__.__defaults__[5]).view(
    1, 3, 1, 1)


def _normalise(raw):
    return (raw - MEAN) / STD


def test_codes_on_square_and_non_square_grids():
    torch.manual_seed(0)
    gen = DALLETargetGenerator(**TINY)
    images = _normalise(torch.rand(2, 3, 64, 64) * 255)
    codes = gen(images, (8, 8))
    assert codes.shape == (2, 64) and codes.dtype == torch.long
    assert ((codes >= 0) & (codes < 32)).all()
    assert torch.equal(codes, gen(images, (8, 8)))  # deterministic
    # 384x128-like crops: a 12x4 grid -> 96x32 input (non-square)
    person = _normalise(torch.rand(2, 3, 96, 32) * 255)
    assert gen(person, (12, 4)).shape == (2, 48)
    assert gen.input_size((24, 8)) == (192, 64)


def test_input_mapping_is_logit_laplace():
    gen = DALLETargetGenerator(**TINY)
    white = _normalise(torch.full((1, 3, 16, 16), 255.))
    black = _normalise(torch.zeros(1, 3, 16, 16))
    assert torch.allclose(gen.prepare(white, (2, 2)), torch.tensor(0.9))
    assert torch.allclose(gen.prepare(black, (2, 2)), torch.tensor(0.1))
    assert gen.prepare(white, (3, 2)).shape[-2:] == (24, 16)


def test_frozen_and_always_eval():
    gen = DALLETargetGenerator(**TINY).train()
    assert not gen.training and not gen.encoder.training
    assert not any(p.requires_grad for p in gen.parameters())


def test_strict_pretrained_loading(tmp_path):
    torch.manual_seed(0)
    src = DALLETargetGenerator(**TINY)
    path = tmp_path / 'dalle.pth'
    torch.save({'state_dict': src.encoder.state_dict()}, path)
    dst = DALLETargetGenerator(**TINY, pretrained=str(path))
    dst.init_weights()
    for k, v in src.encoder.state_dict().items():
        assert torch.equal(dst.encoder.state_dict()[k], v), k
    # a prefixed checkpoint
    torch.save({'encoder.' + k: v
                for k, v in src.encoder.state_dict().items()},
               tmp_path / 'prefixed.pth')
    DALLETargetGenerator(**TINY, pretrained=dict(
        checkpoint=str(tmp_path / 'prefixed.pth'),
        prefix='encoder.')).init_weights()
    # wrong architecture -> a clear mismatch error naming the file
    bad = DALLETargetGenerator(group_count=4, n_hid=4, n_blk_per_group=1,
                               vocab_size=32, pretrained=str(path))
    with pytest.raises(CheckpointMismatchError, match='dalle.pth'):
        bad.init_weights()
    with pytest.raises(FileNotFoundError):
        DALLETargetGenerator(**TINY, pretrained=str(tmp_path / 'no.pth')
                             ).init_weights()
    with pytest.raises(TypeError, match='unknown pretrained'):
        DALLETargetGenerator(**TINY, pretrained=dict(checkpoint='x',
                                                     strict=False))


def test_bad_input():
    gen = DALLETargetGenerator(**TINY)
    with pytest.raises(ValueError, match='3, H, W'):
        gen(torch.rand(2, 1, 16, 16), (2, 2))
