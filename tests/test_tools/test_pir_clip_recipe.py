"""The tiny PIR-CLIP two-stage recipe end to end through the real tools
(make_shards -> train on shards -> fine-tune -> test R@K/mR -> zero-shot
top-1/top-5), in one subprocess; plus the released-checkpoint converter."""
import importlib.util
import json
import textwrap

import pytest
import torch

from .conftest import REPO, run_tool

STAGE1 = '''
_base_ = [{base!r}]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=3)
param_scheduler = []
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(shards={shards!r}, shuffle_buffer=16))
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=3, by_epoch=False))
log_processor = dict(by_epoch=False)
'''
STAGE2 = '''
_base_ = [{base!r}]
load_from = {load_from!r}
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=3,
                 val_interval=3)
param_scheduler = []
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=3, by_epoch=False))
log_processor = dict(by_epoch=False)
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(indices=12))
val_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                      dataset=dict(indices=10))
test_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                       dataset=dict(indices=10))
'''
ZEROSHOT = '''
_base_ = [{base!r}]
test_dataloader = dict(dataset=dict(data_root={root!r}))
'''
DRIVER = '''
import sys
sys.path.insert(0, {tools!r})
from sdtr.datasets import make_synthetic_scene_folders
make_shards = __import__('make_shards')
sys.path.insert(0, {tools_root!r})
import train, test
assert make_shards.main(['--synthetic', 'rs', '--out', {shards!r},
                         '--maxcount', '500']) == 0
train.main([{cfg1!r}, '--work-dir', {work1!r},
            '--cfg-options', 'experiment_name=s1'])
train.main([{cfg2!r}, '--work-dir', {work2!r},
            '--cfg-options', 'experiment_name=s2'])
test.main([{cfg2!r}, {work2!r} + '/iter_3.pth', '--out', {out_ret!r},
           '--work-dir', {work2!r} + '/test_ret',
           '--cfg-options', 'experiment_name=t1'])
make_synthetic_scene_folders(out_dir={scenes!r}, train_per_class=1,
                             test_per_class=4, img_size=64, num_scenes=6)
test.main([{cfg3!r}, {work2!r} + '/iter_3.pth', '--out', {out_zs!r},
           '--work-dir', {work2!r} + '/test_zs',
           '--cfg-options', 'experiment_name=t2'])
'''


def test_two_stage_recipe_end_to_end(tmp_path):
    p = {k: str(tmp_path / k) for k in (
        'shards', 'work1', 'work2', 'scenes', 'cfg1.py', 'cfg2.py',
        'cfg3.py', 'ret.json', 'zs.json')}
    (tmp_path / 'cfg1.py').write_text(STAGE1.format(
        base=str(REPO / 'configs/pir_clip/'
                 'pir-clip_tiny_1xb32_synthetic-shards.py'),
        shards=p['shards']))
    (tmp_path / 'cfg2.py').write_text(STAGE2.format(
        base=str(REPO / 'configs/pir_clip/'
                 'pir-clip_tiny_1xb32_synthetic-rs.py'),
        load_from=p['work1'] + '/iter_3.pth'))
    (tmp_path / 'cfg3.py').write_text(ZEROSHOT.format(
        base=str(REPO / 'configs/pir_clip/'
                 'pir-clip-zeroshot_tiny_1xb64_synthetic-scenes.py'),
        root=p['scenes']))
    driver = tmp_path / 'driver.py'
    driver.write_text(textwrap.dedent(DRIVER.format(
        tools=str(REPO / 'tools/dataset_converters'),
        tools_root=str(REPO / 'tools'), shards=p['shards'],
        cfg1=p['cfg1.py'], cfg2=p['cfg2.py'], cfg3=p['cfg3.py'],
        work1=p['work1'], work2=p['work2'], out_ret=p['ret.json'],
        scenes=p['scenes'], out_zs=p['zs.json'])))
    proc = run_tool([str(driver)], timeout=900)
    log = proc.stdout + proc.stderr
    assert 'wrote 2400 samples in 5 shards' in log
    assert 'loss_affil' in log and 'Load checkpoint from' in log
    ret = json.load(open(p['ret.json']))
    assert {k.split('/')[-1] for k in ret} >= {'i2t_R@1', 't2i_R@10', 'mR'}
    assert all(0 <= v <= 100 for v in ret.values())
    zs = json.load(open(p['zs.json']))
    assert set(zs) == {'zeroshot/top1', 'zeroshot/top5'}
    assert 0 <= zs['zeroshot/top1'] <= zs['zeroshot/top5'] <= 100
    assert '6 classes x 8 templates, 24 images' in log


def _load_converter():
    path = REPO / 'tools/model_converters/pir_clip_to_sdtr.py'
    spec = importlib.util.spec_from_file_location('pir_clip_to_sdtr', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_converter_released_layout_loads_strictly(tmp_path):
    """A random-valued state dict in the released layout (open_clip CLIP +
    res_visual ModifiedResNet + vision_proj_res, DDP ``module.`` prefix,
    open_clip training wrapper) converts and loads strictly."""
    from mmengine.config import Config
    from open_clip.model import CLIP
    from open_clip.modified_resnet import ModifiedResNet

    from sdtr.registry import MODELS
    torch.manual_seed(0)
    clip = CLIP(128, dict(image_size=64, patch_size=8, width=128, layers=3,
                          head_width=64),
                dict(context_length=32, vocab_size=49408, width=128, heads=2,
                     layers=3), quick_gelu=True)
    res = ModifiedResNet([1, 1, 1, 1], 64, heads=4, image_size=64, width=8)
    proj = torch.nn.Linear(64, 128)
    sd = {f'module.{k}': v for k, v in clip.state_dict().items()}
    sd.update({f'module.res_visual.{k}': v
               for k, v in res.state_dict().items()})
    sd.update({f'module.vision_proj_res.{k}': v
               for k, v in proj.state_dict().items()})
    ckpt = dict(epoch=20, name='PIR', state_dict=sd)
    conv = _load_converter()
    out = conv.convert_pir_clip(ckpt)
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models/pir_clip_tiny.py'))
    model = MODELS.build(cfg.model)
    missing, unexpected = model.load_state_dict(out, strict=True)
    assert not missing and not unexpected
    assert torch.equal(model.instruction_encoder.resnet.layer4[0].conv3.weight,
                       res.layer4[0].conv3.weight)
    assert torch.equal(model.instruction_encoder.proj.weight, proj.weight)
    assert torch.equal(model.image_encoder.proj, clip.visual.proj)
    assert torch.equal(model.text_encoder.token_embedding.weight,
                       clip.token_embedding.weight)
    assert torch.equal(model.logit_scale, clip.logit_scale)
    # the command-line tool writes an mmengine checkpoint
    src, dst = tmp_path / 'PIR-CLIP.pt', tmp_path / 'sdtr.pth'
    torch.save(ckpt, src)
    conv.main([str(src), str(dst)])
    saved = torch.load(dst, weights_only=True)
    assert saved['state_dict'].keys() == out.keys()
    # keys of no PIR-CLIP part are an error
    with pytest.raises(KeyError, match='logit_bias'):
        conv.convert_pir_clip(dict(sd, logit_bias=torch.zeros(1)))
    with pytest.raises(KeyError, match='instruction_encoder'):
        conv.convert_pir_clip({k: v for k, v in sd.items()
                               if 'res_visual' not in k})
