"""The README's plugin snippet, as written: its loss registers, and its
config *adds* the loss next to the base's InfoNCE (a dict keyed by name
merges; a list would replace it)."""
import re
import sys

import pytest
import torch
from mmengine.config import Config
from mmpretrain.structures import DataSample

from sdtr.registry import MODELS
from test_tools.conftest import REPO


def _snippets():
    readme = (REPO / 'README.md').read_text()
    section = readme.split('## Writing a plugin', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```python\n(.*?)```', section, re.S)
    files = {}
    for block in blocks:
        first = block.splitlines()[0]
        assert first.startswith('# '), block
        files[first[2:].split()[0]] = block
    assert set(files) == {'my_plugin/my_loss.py', 'my_config.py'}
    return files


@pytest.fixture
def user_repo(tmp_path):
    """The snippet's files where a user puts them: in the repository root
    (here a folder with the repository's configs linked in)."""
    for name, text in _snippets().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (tmp_path / 'configs').symlink_to(REPO / 'configs')
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for mod in [m for m in sys.modules if m.startswith('my_plugin')]:
        del sys.modules[mod]
    MODELS.module_dict.pop('MyLoss', None)


def test_readme_plugin_config_adds_the_loss(user_repo):
    cfg = Config.fromfile(str(user_repo / 'my_config.py'))
    assert set(cfg.model.losses) == {'itc', 'mine'}
    assert cfg.model.losses.itc.type == 'InfoNCELoss'
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    assert list(model.losses) == ['itc', 'mine']
    captions = ['a red car near a tree', 'two planes at the airport',
                'a white building beside a road', 'boats in the harbour']
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8,
                            generator=g) for _ in captions]
    samples = [DataSample(metainfo=dict(text=c, pid=i, image_id=i,
                                        sample_idx=i))
               for i, c in enumerate(captions)]
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                   True)
    model.eval()  # no dropout: the loss can be recomputed by hand
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_itc', 'loss_mine'}
    with torch.no_grad():
        img = model.encode_image(data['inputs'])['global']
        txt = model.encode_text(captions)['global']
    expected = (1 - torch.cosine_similarity(img, txt)).mean()
    assert torch.allclose(losses['loss_mine'], expected, atol=1e-5)


def test_the_list_form_would_replace_infonce(user_repo):
    """What the README warns about: mmengine replaces lists."""
    text = (user_repo / 'my_config.py').read_text().replace(
        "losses=dict(mine=dict(type='MyLoss'))",
        "losses=[dict(type='MyLoss')]")
    assert text != (user_repo / 'my_config.py').read_text()
    (user_repo / 'list_config.py').write_text(text)
    cfg = Config.fromfile(str(user_repo / 'list_config.py'))
    assert [loss['type'] for loss in cfg.model.losses] == ['MyLoss']
