"""Released PIR-CLIP weights come from a plain-GELU open_clip model: with the
converter's ``cfg_options`` the sdtr text tower reproduces the release's
text features; with the configs' QuickGELU it silently does not."""
import importlib.util

import torch
from mmengine.config import Config

from .conftest import REPO


def _converter():
    path = REPO / 'tools/model_converters/pir_clip_to_sdtr.py'
    spec = importlib.util.spec_from_file_location('pir_clip_to_sdtr', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_released_weights_need_plain_gelu(tmp_path):
    from open_clip.model import CLIP
    from open_clip.modified_resnet import ModifiedResNet

    from sdtr.registry import MODELS
    torch.manual_seed(0)
    # the release's model: open_clip CLIP from PIR.json, no quick_gelu
    clip = CLIP(128, dict(image_size=64, patch_size=8, width=128, layers=3,
                          head_width=64),
                dict(context_length=32, vocab_size=49408, width=128, heads=2,
                     layers=3), quick_gelu=False).eval()
    res = ModifiedResNet([1, 1, 1, 1], 64, heads=4, image_size=64, width=8)
    sd = dict(clip.state_dict())
    sd.update({f'res_visual.{k}': v for k, v in res.state_dict().items()})
    sd.update({f'vision_proj_res.{k}': v for k, v in
               torch.nn.Linear(64, 128).state_dict().items()})
    conv = _converter()
    src, dst = tmp_path / 'PIR-CLIP.pt', tmp_path / 'sdtr.pth'
    torch.save(dict(state_dict=sd), src)
    conv.main([str(src), str(dst)])
    saved = torch.load(dst, weights_only=True)
    options = saved['meta']['cfg_options']
    assert options['model.image_encoder.act'] == 'gelu'
    assert options['model.text_encoder.act'] == 'gelu'

    ids = torch.randint(1, 49405, (3, 32))
    ids[:, 0], ids[:, 12:] = 49406, 0
    ids[:, 11] = 49407
    mask = (ids != 0).long()
    with torch.no_grad():
        ref = clip.encode_text(ids)

    def text_features(cfg_options):
        cfg = Config.fromfile(
            str(REPO / 'configs/_base_/models/pir_clip_tiny.py'))
        cfg.merge_from_dict(cfg_options)
        model = MODELS.build(cfg.model).eval()
        model.load_state_dict(saved['state_dict'], strict=True)
        with torch.no_grad():
            return model.encode_tokens(ids, mask)['global']

    released = text_features(options)
    assert torch.allclose(released, ref, atol=1e-5)
    # the configs' QuickGELU (right for OpenAI weights): wrong features
    cfg = Config.fromfile(str(REPO / 'configs/_base_/models/pir_clip_tiny.py'))
    assert cfg.model.text_encoder.act == 'quick_gelu'
    default = text_features({})
    assert (default - ref).abs().max() > 1e-3
