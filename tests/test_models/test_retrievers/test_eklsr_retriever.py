"""EKLSRRetriever: KLSF + Text/Image KLR composed on tiny CLIP towers."""
import copy

import pytest
import torch
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS

D = 32


def tiny_cfg(**overrides):
    cfg = dict(
        type='EKLSRRetriever',
        image_encoder=dict(type='CLIPVisionTransformer', arch=None,
                           image_size=(32, 16), patch_size=8, width=48,
                           layers=1, heads=2, embed_dim=D,
                           act='quick_gelu'),
        text_encoder=dict(type='CLIPTextTransformer', arch=None,
                          context_length=16, vocab_size=49408, width=D,
                          heads=2, layers=1, embed_dim=D, act='quick_gelu'),
        tokenizer=dict(type='CLIPTokenizer', context_length=16,
                       mask_token=True),
        losses=dict(itc=dict(type='InfoNCELoss')),  # the model's scale
        importance=dict(type='ImportanceFactor'),
        image_selector=dict(type='KeyLocalSelector', ratio=0.3),
        text_selector=dict(type='KeyLocalSelector', ratio=0.3),
        image_neck=dict(type='KLSFFusion', in_channels=D),
        text_neck=dict(type='KLSFFusion', in_channels=D),
        text_klr_selector=dict(type='KeyLocalSelector', ratio=0.5),
        text_klr_head=dict(type='TextKLRHead', in_channels=D),
        image_klr_selector=dict(type='KeyLocalSelector', ratio=0.5),
        image_klr_head=dict(type='ImageKLRHead', in_channels=D,
                            mask_channels=48, vocab_size=64),
        target_generator=dict(type='DALLETargetGenerator', n_hid=4,
                              n_blk_per_group=1, vocab_size=64),
    )
    for k, v in overrides.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg


CAPTIONS = ['a red car parked near two tall trees',
            'many white planes at the airport',
            'a small boat on the river',
            'green farmland next to a road and houses']


def batch(model, n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randint(0, 256, (n, 3, 32, 16), dtype=torch.uint8,
                         generator=g)
    samples = [DataSample(metainfo=dict(text=CAPTIONS[i % 4], pid=i // 2))
               for i in range(n)]
    return model.data_preprocessor(
        dict(inputs=list(imgs), data_samples=samples), True)


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    return MODELS.build(tiny_cfg())


def test_loss_terms_and_gradients(model):
    model.train()
    model.zero_grad()
    losses = model(**batch(model), mode='loss')
    assert set(losses) == {'loss_itc', 'loss_klr_text', 'loss_klr_image'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    for name in ('image_neck.fc1.weight', 'text_neck.fc2.weight',
                 'text_klr_head.classifier.weight',
                 'image_klr_head.classifier.weight',
                 'image_klr_head.mask_token',
                 'image_encoder.conv1.weight',
                 'text_encoder.token_embedding.weight'):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name
    assert all(p.grad is None
               for p in model.target_generator.parameters())


def test_text_locals_exclude_sot_eot_padding(model):
    out = model.encode_text(['a red car', 'boats'])
    parts = model.text_locals(out)
    ids = out['input_ids']
    # 'a red car' -> SOT a red car EOT pad...
    assert parts['valid'].sum(1).tolist() == [3, 1]
    assert not parts['valid'][ids == model.tokenizer.sot_token_id].any()
    assert not parts['valid'][ids == model.tokenizer.eot_token_id].any()
    assert not parts['valid'][out['attention_mask'] == 0].any()
    # the instance feature is the EOT token (CLIP's global)
    assert torch.equal(parts['cls'], out['global'])


def test_predict_deterministic_and_offline_gallery(model):
    model.eval()
    data = batch(model)
    with torch.no_grad():
        a = model(**data, mode='predict')
        b = model(**copy.deepcopy(data), mode='predict')
        # the image embedding does not depend on the captions it is batched
        # with (independent branches: gallery encoded offline)
        img_only = torch.nn.functional.normalize(
            model.image_embedding(model.encode_image(data['inputs'][:1])),
            dim=-1)
    for x, y in zip(a, b):
        assert torch.equal(x.img_feat, y.img_feat)
        assert torch.equal(x.text_feats, y.text_feats)
        assert torch.allclose(x.img_feat.norm(), torch.tensor(1.))
    assert torch.allclose(a[0].img_feat, img_only[0], atol=1e-5)
    # KLSF is used at test time: the embedding differs from the CLIP global
    with torch.no_grad():
        img_out = model.encode_image(data['inputs'])
    assert not torch.allclose(model.image_embedding(img_out),
                              img_out['global'])


def test_klr_only_in_training(model, monkeypatch):
    model.eval()

    def boom(*args, **kwargs):
        raise AssertionError('KLR must not run at inference')

    monkeypatch.setattr(model.target_generator, 'forward', boom)
    monkeypatch.setattr(model.text_klr_head, 'loss', boom)
    monkeypatch.setattr(model.image_klr_head, 'loss', boom)
    with torch.no_grad():
        model(**batch(model), mode='predict')


def test_text_klr_masks_selected_key_tokens(model, monkeypatch):
    model.train()
    seen = {}
    original = model.encode_tokens

    def spy(ids, mask):
        seen.setdefault('calls', []).append(ids.clone())
        return original(ids, mask)

    monkeypatch.setattr(model, 'encode_tokens', spy)
    model(**batch(model), mode='loss')
    plain, masked = seen['calls']
    changed = plain != masked
    assert (masked[changed] == model.tokenizer.mask_token_id).all()
    valid = model.text_locals(dict(
        input_ids=plain, attention_mask=(plain > 0).long(),
        tokens=torch.zeros(*plain.shape, D),
        global_feat=None, **{'global': torch.zeros(len(plain), D)}))['valid']
    n = valid.sum(1)
    assert torch.equal(changed.sum(1),
                       model.text_klr_selector.num_selected(n))
    assert not (changed & ~valid).any()


def test_baseline_parity_with_clip_retriever():
    torch.manual_seed(0)
    cfg = tiny_cfg(image_selector=None, text_selector=None,
                   image_neck=None, text_neck=None,
                   text_klr_selector=None, text_klr_head=None,
                   image_klr_selector=None, image_klr_head=None,
                   target_generator=None)
    eklsr = MODELS.build(cfg)
    clip_cfg = {k: cfg[k] for k in ('image_encoder', 'text_encoder',
                                    'tokenizer', 'losses')}
    clip = MODELS.build(dict(type='CLIPRetriever', **clip_cfg))
    clip.load_state_dict(eklsr.state_dict(), strict=False)
    data = batch(eklsr)
    a = eklsr(**data, mode='loss')
    b = clip(**copy.deepcopy(data), mode='loss')
    assert set(a) == {'loss_itc'}
    assert torch.allclose(a['loss_itc'], b['loss_itc'], atol=1e-6)


def test_ablation_switches_change_loss_terms():
    torch.manual_seed(0)
    m = MODELS.build(tiny_cfg(image_klr_selector=None, image_klr_head=None,
                              target_generator=None))
    assert set(m(**batch(m), mode='loss')) == {'loss_itc', 'loss_klr_text'}
    m = MODELS.build(tiny_cfg(text_klr_head=dict(with_interaction=False),
                              image_klr_head=dict(with_interaction=False)))
    assert set(m(**batch(m), mode='loss')) == {
        'loss_itc', 'loss_klr_text', 'loss_klr_image'}


def test_loss_goes_down_on_a_fixed_batch():
    torch.manual_seed(0)
    m = MODELS.build(tiny_cfg())
    m.train()
    data = batch(m, n=8)
    opt = torch.optim.Adam([p for p in m.parameters() if p.requires_grad],
                           lr=2e-3)
    history = []
    for _ in range(12):
        torch.manual_seed(1)  # same masks every step
        losses = m(**data, mode='loss')
        total = sum(losses.values())
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append({k: v.item() for k, v in losses.items()})
    for key in history[0]:
        assert history[-1][key] < history[0][key], (key, history)


@pytest.mark.parametrize('overrides, match', [
    (dict(image_selector=None), 'image_neck needs image_selector'),
    (dict(tokenizer=dict(mask_token=False)), 'mask token'),
    (dict(image_klr_head=dict(mask_channels=32)), 'mask_channels'),
    (dict(target_generator=None), 'target_generator'),
    (dict(target_generator=dict(vocab_size=32)), 'codes'),
    (dict(text_neck=dict(in_channels=16)), 'text_neck'),
    (dict(text_klr_head=dict(vocab_size=100)), 'vocab_size'),
    (dict(image_encoder=dict(type='CLIPModifiedResNet', arch=None,
                             image_size=32, layers=(1, 1, 1, 1), width=8,
                             embed_dim=D, heads=2, patch_size=None,
                             act=None)), 'ViT'),
])
def test_bad_configs_raise_clear_errors(overrides, match):
    cfg = tiny_cfg(**overrides)
    if overrides.get('image_encoder', {}).get('type') == 'CLIPModifiedResNet':
        cfg['image_encoder'] = dict(type='CLIPModifiedResNet', arch=None,
                                    image_size=32, layers=(1, 1, 1, 1),
                                    width=8, embed_dim=D, heads=2)
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_loss_keys_are_logged_as_losses(model):
    """mmengine's LogProcessor treats keys ending in 'lr' as learning rates
    (printed in e-notation, in front of the losses); the KLR losses must be
    printed as losses and summed into nothing else."""
    from types import SimpleNamespace

    from mmengine.logging import MessageHub
    from mmengine.runner import LogProcessor
    model.train()
    with torch.no_grad():
        losses = model(**batch(model), mode='loss')
    assert not [k for k in losses if k.endswith('lr')]
    hub = MessageHub.get_instance('test_eklsr_log_keys')
    for key, value in losses.items():
        hub.update_scalar(f'train/{key}', float(value))
    hub.update_scalar('train/lr', 1e-5)
    runner = SimpleNamespace(message_hub=hub, iter=0, max_iters=10,
                             _train_loop=None)
    _, text = LogProcessor(by_epoch=False).get_log_after_iter(
        runner, 0, 'train')
    assert 'lr: 1.0000e-05' in text
    for key, value in losses.items():
        assert f'{key}: {float(value):.4f}' in text, text
