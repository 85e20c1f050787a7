"""The one loss loop of BaseRetriever: declared inputs/labels checked at
build time, one model-level logit scale shared by the losses that use it,
old checkpoints (a loss-owned ``logit_scale``) still loading."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_state_dict
from mmpretrain.structures import DataSample
from torch import nn

from sdtr.datasets.transforms.formatting import TRAIN_KEYS
from sdtr.models.interfaces import InterfaceError
from sdtr.models.losses import AffiliationLoss, InfoNCELoss
from sdtr.models.retrievers import BaseRetriever
from sdtr.registry import MODELS

REPO = Path(__file__).resolve().parents[3]
CFG = REPO / 'configs/_base_/models/clip_tiny.py'
CAPTIONS = ['a red car parked near a tree', 'two planes at the airport',
            'many boats in the harbour', 'a white building beside a road']


def _build(**overrides):
    cfg = Config.fromfile(str(CFG)).model.to_dict()
    cfg['image_encoder'].update(layers=1)
    cfg['text_encoder'].update(layers=1)
    cfg.update(overrides)
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _batch(model):
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8,
                            generator=g) for _ in range(4)]
    samples = [DataSample(metainfo=dict(text=CAPTIONS[i], pid=[0, 1, 0, 2][i],
                                        image_id=i, label=[0, 1, 1, 0][i],
                                        sample_idx=i)) for i in range(4)]
    return model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                   True)


SHARED = dict(itc=dict(type='InfoNCELoss'),
              affil=dict(type='AffiliationLoss'))


def test_one_scale_shared_by_the_losses_that_use_it():
    model = _build(losses=SHARED)
    assert [n for n, _ in model.named_parameters()
            if 'logit_scale' in n] == ['logit_scale']
    assert model.loss_specs['itc'].label_key == 'pid'
    assert model.loss_specs['affil'].label_key == 'label'
    data = _batch(model)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(20.))
        out = model(**data, mode='loss')
        feats = model.forward_train(data['inputs'], data['data_samples'])
    scale = torch.tensor(20.)
    # hand-wired: pid positives for InfoNCE, scene labels for affiliation,
    # both at the model's scale
    itc = InfoNCELoss()(feats['img'], feats['txt'],
                        torch.tensor([0, 1, 0, 2]), logit_scale=scale)
    affil = AffiliationLoss()(feats['img'], feats['txt'],
                              torch.tensor([0, 1, 1, 0]), logit_scale=scale)
    torch.testing.assert_close(out['loss_itc'], itc)
    torch.testing.assert_close(out['loss_affil'], affil)
    # clamped at max_scale (100) when read, as open_clip clamps it
    with torch.no_grad():
        model.logit_scale.fill_(10.)
    torch.testing.assert_close(model.get_logit_scale(), torch.tensor(100.))


def test_declarations_checked_at_build_time():
    with pytest.raises(ValueError, match=r"loss 'itc' \(InfoNCELoss\) takes "
                       r"features \('img_klsf', 'txt'\).*missing "
                       r"\['img_klsf'\]"):
        _build(losses=dict(itc=dict(type='InfoNCELoss',
                                    inputs=('img_klsf', 'txt'))))
    with pytest.raises(ValueError, match=r"loss 'itc' \(InfoNCELoss\) needs "
                       r"label 'scene'"):
        _build(losses=dict(itc=dict(type='InfoNCELoss', label_key='scene')))
    with pytest.raises(ValueError, match=r"loss 'affil' \(AffiliationLoss\) "
                       r"is given label_key='image_id', expected one of "
                       r"\('label',\)"):
        _build(losses=dict(itc=dict(type='InfoNCELoss'),
                           affil=dict(type='AffiliationLoss',
                                      label_key='image_id')))
    with pytest.raises(ValueError, match='model has none'):
        _build(losses=SHARED, logit_scale=None)
    with pytest.raises(ValueError, match='no loss of .* scales'):
        _build(losses=dict(triplet=dict(type='VSETripletLoss')))
    with pytest.raises(TypeError, match='unknown logit_scale options'):
        _build(logit_scale=dict(temperature=0.07))
    with pytest.raises(TypeError, match=r"loss 'itc': the temperature is the "
                       r"model's.*model.logit_scale=dict\(init_temperature="
                       r"0.02"):
        _build(losses=dict(itc=dict(type='InfoNCELoss', temperature=0.02)))
    with pytest.raises(ValueError, match='separate_scale=True but takes no '
                       'logit scale'):
        _build(losses=dict(itc=dict(type='InfoNCELoss'),
                           triplet=dict(type='VSETripletLoss',
                                        separate_scale=True)))


def test_train_labels_are_the_packed_metainfo():
    """The labels a loss may ask for are those every training sample has
    (PackRetrievalInputs), so the build-time check matches the data."""
    assert set(BaseRetriever.train_labels) == set(TRAIN_KEYS) - {
        'text', 'img_path'}


def test_missing_label_names_the_loss():
    model = _build()
    data = _batch(model)
    for ds in data['data_samples']:
        del ds.pid
    with pytest.raises(KeyError, match=r'"pid" label \(needed by loss \W*itc'):
        model(**data, mode='loss')


def test_old_checkpoint_with_a_loss_owned_scale_loads():
    model = _build(losses=SHARED)
    old = model.state_dict()
    value = old.pop('logit_scale').clone().fill_(3.25)
    old['losses.itc.logit_scale'] = value  # layout before the model scale
    fresh = _build(losses=SHARED)
    missing, unexpected = fresh.load_state_dict(dict(old), strict=True)
    assert not missing and not unexpected
    assert fresh.logit_scale.item() == 3.25
    # mmengine's loader (load_from / tools/test.py) too, under a prefix
    fresh = _build(losses=SHARED)
    wrapper = nn.Module()
    wrapper.module = fresh
    load_state_dict(wrapper, {f'module.{k}': v for k, v in old.items()},
                    strict=True)
    assert fresh.logit_scale.item() == 3.25
    # two old scales that disagree: refused, naming both
    old['losses.affil.logit_scale'] = value + 1
    with pytest.raises(ValueError, match='losses.itc.logit_scale=3.25, '
                       'losses.affil.logit_scale=4.25'):
        _build(losses=SHARED).load_state_dict(dict(old))


SEPARATE = dict(itc=dict(type='InfoNCELoss'),
                affil=dict(type='AffiliationLoss', separate_scale=True))


def test_a_separate_scale_is_a_second_model_scale():
    """``separate_scale=True`` (PIR-ITR's release): the loss receives a
    model scale of its own, built from the same ``model.logit_scale``
    options, so one override sets both."""
    model = _build(losses=SEPARATE,
                   logit_scale=dict(init_temperature=0.05, learnable=True))
    keys = [k for k, _ in model.named_parameters() if 'logit_scale' in k]
    assert keys == ['logit_scale', 'logit_scale_affil']
    assert not list(model.losses.parameters())
    for name in ('itc', 'affil'):
        assert model.get_logit_scale(name).item() == pytest.approx(20.)
    data = _batch(model)
    with torch.no_grad():
        model.logit_scale_affil.fill_(math.log(5.))
        out = model(**data, mode='loss')
        feats = model.forward_train(data['inputs'], data['data_samples'])
    affil = AffiliationLoss()(feats['img'], feats['txt'],
                              torch.tensor([0, 1, 1, 0]),
                              logit_scale=torch.tensor(5.))
    torch.testing.assert_close(out['loss_affil'], affil)
    # its old key (a loss-owned temperature) moves to it
    old = model.state_dict()
    old['losses.affil.logit_scale'] = old.pop('logit_scale_affil')
    fresh = _build(losses=SEPARATE)
    assert fresh.upgrade_state_dict(old) == ['losses.affil.logit_scale']
    fresh.load_state_dict(old, strict=True)
    assert fresh.get_logit_scale('affil').item() == pytest.approx(5.)


def test_fixed_scale_is_not_learned_nor_saved():
    """IRRA's fixed 1/0.02: a buffer the optimiser never sees, outside
    checkpoints."""
    model = _build(logit_scale=dict(init_temperature=0.02, learnable=False))
    assert not [n for n, _ in model.named_parameters() if 'logit' in n]
    assert 'logit_scale' not in model.state_dict()
    # exactly IRRA's 1 / temperature, not exp(log 50) = 50.0000038
    assert model.get_logit_scale().item() == 50.0


def test_parts_checked_against_their_interface():
    with pytest.raises(InterfaceError,
                       match='CLIPRetriever: image_encoder Linear does not '
                       'implement ImageTower .*missing embed_dim'):
        _build(image_encoder=nn.Linear(2, 2))


def test_old_checkpoint_through_strict_load_from(tmp_path):
    """``load_from`` / ``tools/test.py`` compare keys after the model's key
    upgrade: the old layout passes strictly and lands in the model."""
    from sdtr.engine.runner import CheckpointRunner
    old = _build(losses=SHARED).state_dict()
    old['losses.itc.logit_scale'] = old.pop('logit_scale').clone().fill_(2.5)
    path = str(tmp_path / 'old.pth')
    torch.save(dict(state_dict=old), path)
    runner = CheckpointRunner(
        model=_build(losses=SHARED), work_dir=str(tmp_path / 'w'),
        default_scope='sdtr', experiment_name=f'old-{id(path)}')
    runner.load_checkpoint(path)
    assert runner.model.logit_scale.item() == 2.5
