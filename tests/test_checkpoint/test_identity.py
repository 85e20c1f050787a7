"""Weights identity = the digest of the bytes loaded, computed once when
loading and carried by the model (what galleries and indexes are stamped
with), whatever happens to the file afterwards."""
import shutil
from pathlib import Path

import torch

from sdtr.apis import get_model
from sdtr.checkpoint import open_checkpoint, save_checkpoint, weights_identity

TINY_RS = str(Path(__file__).resolve().parents[2] / 'configs' / 'quickstart'
              / 'clip_tiny_1xb32_synthetic-rs.py')


def test_identity_names_the_bytes_loaded_not_the_file_now(tmp_path):
    states = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        states.append(get_model(TINY_RS).state_dict())
    a, b = tmp_path / 'a.pth', tmp_path / 'b.pth'
    save_checkpoint(dict(state_dict=states[0]), str(a))
    torch.save(dict(state_dict=states[1]), b)  # a foreign (unsealed) file
    digest_a, digest_b = (open_checkpoint(str(p)).digest for p in (a, b))
    assert digest_a != digest_b

    path = tmp_path / 'model.pth'
    shutil.copy(a, path)
    model = get_model(TINY_RS, pretrained=str(path))
    assert weights_identity(model) == f'file:{digest_a}'
    shutil.copy(b, path)  # the file changes on disk after the load
    assert weights_identity(model) == f'file:{digest_a}'
    assert weights_identity(get_model(TINY_RS, pretrained=str(path))) == \
        f'file:{digest_b}'
    # weights changed in place are no longer the file's
    with torch.no_grad():
        model.image_encoder.proj.mul_(2)
    assert weights_identity(model).startswith('state:')
    # a model built without a checkpoint is identified by its weights
    assert weights_identity(get_model(TINY_RS)).startswith('state:')
