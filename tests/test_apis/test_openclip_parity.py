"""End-to-end parity: open_clip ViT-B-16 (random weights) -> file ->
tools/model_converters/openclip_to_sdtr.py -> get_model /
RetrievalInferencer gives open_clip's embeddings.  Converter errors are
checked on a tiny open_clip CLIP of the quickstart architecture."""
import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from sdtr.search import RetrievalInferencer
from sdtr.models.utils.clip_checkpoint import detect_clip_layout
from .helpers import REPO, TINY_RS, load_tool

CONFIG = str(REPO / 'configs' / 'clip' / 'clip_vit-b16_1xb128_rsitmd-galr.py')
CAPTIONS = ['many planes are parked next to a long terminal building',
            'a river with green trees on both sides',
            'a baseball field surrounded by trees and roads']
TOL = 1e-4


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp('parity')
    torch.manual_seed(0)
    # the config uses QuickGELU (OpenAI weights): the matching open_clip arch
    ref = open_clip.create_model('ViT-B-16-quickgelu').eval()
    with torch.no_grad():
        ref.logit_scale.fill_(3.0)
    src = root / 'openclip_vit-b16_random.pt'
    torch.save(ref.state_dict(), src)
    conv = load_tool('tools/model_converters/openclip_to_sdtr.py')
    out = root / 'clip_rsitmd_init.pth'
    report = conv.convert(CONFIG, str(src), str(out))
    return ref, report, str(out)


def test_converter_coverage(converted):
    _, report, _ = converted
    assert report['image']['coverage'] == 1.0
    assert report['text']['coverage'] == 1.0
    assert report['logit_scale'].loaded == 1
    assert report['coverage'] == 1.0  # every model tensor from the file


def test_embeddings_match_open_clip(converted):
    ref, _, final = converted
    inf = RetrievalInferencer(CONFIG, checkpoint=final, batch_size=4)
    assert inf.model.checkpoint == final
    assert inf.model.logit_scale.item() == 3.0
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8)
              for _ in range(2)]
    preprocess = open_clip.image_transform(224, is_train=False)
    batch = torch.stack([preprocess(Image.fromarray(a)) for a in arrays])
    tokenizer = open_clip.get_tokenizer('ViT-B-16')
    with torch.no_grad():
        ref_img = F.normalize(ref.encode_image(batch), dim=-1)
        ref_txt = F.normalize(ref.encode_text(tokenizer(CAPTIONS)), dim=-1)
    img = inf.encode_image(arrays)
    txt = inf.encode_text(CAPTIONS)
    d_img = (img - ref_img).abs().max().item()
    d_txt = (txt - ref_txt).abs().max().item()
    print(f'parity through converter + publish + inferencer: max |image '
          f'diff| = {d_img:.3g}, max |text diff| = {d_txt:.3g}')
    assert d_img <= TOL and d_txt <= TOL


@pytest.fixture(scope='module')
def tiny_openclip():
    """open_clip's CLIP with the quickstart tiny architecture."""
    from open_clip.model import CLIP
    torch.manual_seed(0)
    return CLIP(embed_dim=128, quick_gelu=True,
                vision_cfg=dict(image_size=64, patch_size=8, width=128,
                                layers=3, head_width=64),
                text_cfg=dict(context_length=32, vocab_size=49408,
                              width=128, heads=2, layers=3)).eval()


def test_converter_rejects_mismatched_checkpoints(tiny_openclip, tmp_path):
    from sdtr.models.utils import CheckpointMismatchError
    conv = load_tool('tools/model_converters/openclip_to_sdtr.py')
    sd = dict(tiny_openclip.state_dict())
    rep = conv.convert(str(TINY_RS), sd_path(tmp_path, sd),
                       str(tmp_path / 'o.pth'))
    assert rep['coverage'] == 1.0
    sd['extra_head.weight'] = torch.zeros(2)
    with pytest.raises(CheckpointMismatchError, match='extra_head.weight'):
        conv.convert(str(TINY_RS), sd_path(tmp_path, sd),
                     str(tmp_path / 'o.pth'))
    # ignored on purpose: accepted, and reported
    rep = conv.convert(str(TINY_RS), sd_path(tmp_path, sd),
                       str(tmp_path / 'o.pth'), ignore_keys=['^extra_head'])
    assert rep['coverage'] == 1.0
    sd.pop('extra_head.weight')
    sd['visual.proj'] = torch.zeros(128, 64)
    with pytest.raises(CheckpointMismatchError, match='proj'):
        conv.convert(str(TINY_RS), sd_path(tmp_path, sd),
                     str(tmp_path / 'o.pth'))
    sd.pop('visual.proj')
    with pytest.raises(CheckpointMismatchError, match='missing'):
        conv.convert(str(TINY_RS), sd_path(tmp_path, sd),
                     str(tmp_path / 'o.pth'))


def test_georsclip_layout(tiny_openclip, tmp_path):
    conv = load_tool('tools/model_converters/openclip_to_sdtr.py')
    ref = tiny_openclip.state_dict()
    geo = {('image_backbone.' + k[len('visual.'):]) if k.startswith(
        'visual.') else ('text_backbone.' + k): v
        for k, v in ref.items() if k != 'logit_scale'}
    assert detect_clip_layout(geo) == 'georsclip'
    out = tmp_path / 'geo.pth'
    rep = conv.convert(str(TINY_RS), sd_path(tmp_path, geo), str(out))
    assert rep['logit_scale'].loaded == 0  # the release has none
    loaded = torch.load(out, weights_only=True)['state_dict']
    assert torch.equal(loaded['image_encoder.proj'], ref['visual.proj'])
    assert torch.equal(loaded['text_encoder.text_projection'],
                       ref['text_projection'])


def sd_path(tmp_path, sd):
    path = tmp_path / 'sd.pt'
    torch.save(sd, path)
    return str(path)
