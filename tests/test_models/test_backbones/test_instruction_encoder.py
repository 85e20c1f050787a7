"""PIR-ITR scene-prior instruction encoder: it really loads torchvision-style
and mmpretrain (tools/train.py) scene classifiers, strictly, with a clear
error otherwise; frozen by default."""
import pytest
import torch
import torchvision
from mmengine.config import Config

from sdtr.models.backbones import SceneInstructionEncoder
from sdtr.models.utils import CheckpointMismatchError
from sdtr.registry import MODELS

TINY_BB = dict(type='mmpretrain.ResNet', depth=18, base_channels=8,
               stem_channels=8)


@pytest.fixture(autouse=True)
def _one_thread():
    """Single-threaded torch: faster on shared CPUs (no OpenMP spinning)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_torchvision_resnet50_classifier_loads_exactly(tmp_path):
    torch.manual_seed(0)
    tv = torchvision.models.resnet50(num_classes=30).eval()
    path = tmp_path / 'aid_resnet50.pth'
    torch.save({'model': {'module.' + k: v
                          for k, v in tv.state_dict().items()},
                'optimizer': {}, 'epoch': 3}, path)
    enc = SceneInstructionEncoder(pretrained=str(path))
    assert enc.out_dim == 2048
    enc.init_weights()
    report = enc.load_pretrained(str(path))
    assert report['coverage'] == 1.0 and report['layout'] == 'torchvision'
    assert report['dropped'] == ['fc.bias', 'fc.weight']
    tv.fc = torch.nn.Identity()
    x = torch.randn(1, 3, 64, 64)  # B = 1 works
    enc.eval()
    torch.testing.assert_close(enc(x), tv(x).detach())


def test_strict_load_fails_clearly(tmp_path):
    tv18 = torchvision.models.resnet18(num_classes=45)
    path = tmp_path / 'resisc45_resnet18.pth'
    torch.save(tv18.state_dict(), path)
    enc = SceneInstructionEncoder(pretrained=dict(checkpoint=str(path)))
    with pytest.raises(CheckpointMismatchError) as err:
        enc.init_weights()
    msg = str(err.value)
    assert 'resisc45_resnet18.pth' in msg and 'SceneInstructionEncoder' in msg
    assert 'missing keys' in msg and 'layer1.0.conv3.weight' in msg
    assert 'shape mismatches' in msg and 'nothing was loaded' in msg
    with pytest.raises(TypeError, match='unknown pretrained options'):
        SceneInstructionEncoder(pretrained=dict(checkpoint='x', prefx='y'))


def test_mmpretrain_classifier_checkpoint_from_project_config(tmp_path):
    """A scene classifier as configs/pir_itr/scene-classifier_* builds it
    (what tools/train.py saves) loads into the encoder."""
    cfg = Config.fromfile('configs/pir_itr/'
                          'scene-classifier_resnet18-tiny_1xb32_'
                          'synthetic-scenes.py')
    clf = MODELS.build(cfg.model)
    path = tmp_path / 'epoch_1.pth'
    torch.save({'meta': {}, 'state_dict': clf.state_dict()}, path)
    tiny = Config.fromfile('configs/_base_/models/pir_itr_tiny.py')
    enc = MODELS.build(tiny.model.instruction_encoder)
    report = enc.load_pretrained(str(path))
    assert report['layout'] == 'mmpretrain' and report['coverage'] == 1.0
    assert report['dropped'] == ['head.fc.bias', 'head.fc.weight']
    x = torch.randn(2, 3, 64, 64)
    clf.eval()
    enc.eval()
    with torch.no_grad():
        feat = clf.extract_feat(x)[-1]
    torch.testing.assert_close(enc(x), feat)


def test_frozen_and_alternatives():
    enc = SceneInstructionEncoder(backbone=TINY_BB)
    assert enc.out_dim == 64
    assert not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.backbone.bn1.training  # norm_eval
    drift = SceneInstructionEncoder(backbone=TINY_BB, norm_eval=False)
    drift.train()
    assert drift.backbone.bn1.training  # released: statistics drift
    trainable = SceneInstructionEncoder(backbone=TINY_BB, frozen=False)
    trainable(torch.randn(2, 3, 32, 32)).sum().backward()
    assert trainable.backbone.conv1.weight.grad is not None
    # a token backbone (Table V alternatives) is pooled over tokens
    vit = SceneInstructionEncoder(
        backbone=dict(type='mmpretrain.VisionTransformer',
                      arch=dict(embed_dims=16, num_layers=1, num_heads=2,
                                feedforward_channels=32),
                      img_size=32, patch_size=8, out_type='cls_token'),
        probe_size=32)
    assert vit.out_dim == 16 and vit(torch.randn(1, 3, 32, 32)).shape == (
        1, 16)
