"""The door's formats: TorchScript archives read as data (never through
``torch.jit.load``), ``.safetensors`` and Hugging Face folders, and a
hostile archive whose ``__setstate__`` writes a file."""
from typing import Tuple

import pytest
import torch
from safetensors.torch import save_file

from sdtr.checkpoint import (TRUST_ENV, CheckpointError, open_checkpoint,
                             read_state_dict)

pytestmark = [pytest.mark.filterwarnings('ignore::FutureWarning'),
              pytest.mark.filterwarnings('ignore::UserWarning')]


class Tiny(torch.nn.Module):
    """Parameters, buffers, a plain tensor attribute (not in the state
    dict), an fp16 parameter and submodules of mangled classes."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)
        self.seq = torch.nn.Sequential(torch.nn.Linear(2, 2),
                                       torch.nn.ReLU(), torch.nn.LayerNorm(2))
        self.register_buffer('buf', torch.arange(4.0))
        self.half_param = torch.nn.Parameter(torch.randn(2, 2).half())
        self.plain = torch.zeros(3)
        self.no_bias = torch.nn.Linear(2, 2, bias=False)

    def forward(self, x):
        return self.no_bias(self.seq(self.lin(x))) + self.plain[0]


class WritesAFile(torch.nn.Module):
    """Its TorchScript ``__setstate__`` creates ``path`` on every
    ``torch.jit.load`` (``torch.from_file(..., shared=True)``)."""

    def __init__(self, path: str):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(2))
        self.path = path
        self.blob = torch.zeros(1, dtype=torch.uint8)

    def forward(self, x):
        return x * self.w

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, str, bool]:
        return (self.w, self.path, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, str, bool]) -> None:
        self.w = state[0]
        self.path = state[1]
        self.training = state[2]
        self.blob = torch.from_file(state[1], shared=True, size=8,
                                    dtype=torch.uint8)
        self.blob.fill_(65)


@pytest.fixture
def no_jit_load(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError('torch.jit.load ran')
    real = torch.jit.load
    monkeypatch.setattr(torch.jit, 'load', never)
    return real


@pytest.mark.parametrize('how', ['script', 'trace'])
def test_torchscript_archive_equals_jit_state_dict(tmp_path, how,
                                                   no_jit_load):
    torch.manual_seed(0)
    model = Tiny()
    module = torch.jit.script(model) if how == 'script' else \
        torch.jit.trace(model, torch.randn(1, 3))
    path = str(tmp_path / f'{how}.pt')
    torch.jit.save(module, path)
    expected = no_jit_load(path).state_dict()
    loaded = read_state_dict(path)
    assert list(loaded) == list(expected)
    for key, value in expected.items():
        assert torch.equal(loaded[key], value), key
        assert loaded[key].dtype == value.dtype and \
            not loaded[key].requires_grad
    assert 'plain' not in loaded and 'no_bias.bias' not in loaded


def test_hostile_torchscript_archive_never_runs(tmp_path, no_jit_load,
                                                monkeypatch):
    marker = tmp_path / 'site-packages' / 'evil.pth'
    marker.parent.mkdir()
    path = str(tmp_path / 'ViT-B-16.pt')
    torch.jit.save(torch.jit.script(WritesAFile(str(marker))), path)
    # the payload is real: torch.jit.load writes the file
    no_jit_load(path)
    assert marker.read_bytes() == b'A' * 8
    marker.unlink()
    for trust in ('0', '1'):
        monkeypatch.setenv(TRUST_ENV, trust)
        with pytest.raises(CheckpointError) as err:
            open_checkpoint(path)
        assert str(err.value).startswith(path)
        assert 'WritesAFile' in str(err.value) and \
            '__setstate__' in str(err.value)
        assert not marker.exists()


def test_safetensors_and_hugging_face_folders(tmp_path):
    state = {'a': torch.randn(3, 5), 'b': torch.arange(7).half(),
             'c': torch.tensor([True, False]), 'e': torch.zeros(0, 4)}
    folder = tmp_path / 'hf'
    folder.mkdir()
    save_file(state, str(folder / 'model.safetensors'))
    (folder / 'config.json').write_text('{}')
    for source in (folder / 'model.safetensors', folder):
        checkpoint = open_checkpoint(str(source))
        assert checkpoint.path == str(folder / 'model.safetensors')
        assert set(checkpoint.obj) == set(state)
        for key, value in state.items():
            assert torch.equal(checkpoint.obj[key], value) and \
                checkpoint.obj[key].dtype == value.dtype
    # the digest is of the bytes: another file, another digest
    save_file({**state, 'a': state['a'] + 1}, str(tmp_path / 'o.safetensors'))
    assert open_checkpoint(str(tmp_path / 'o.safetensors')).digest != \
        open_checkpoint(str(folder)).digest
    with pytest.raises(FileNotFoundError, match='neither model.safetensors'):
        open_checkpoint(str(tmp_path))
