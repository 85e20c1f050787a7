"""tools/search.py on the embedded synthetic data with a briefly trained
tiny CLIP: the caption's own image is among the top results (ranks are
checked; the PNG is for people), and image->text search and t-SNE run."""
import os
import random
import re
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope

from sdtr.apis import get_model
from sdtr.search import RetrievalInferencer
from sdtr.registry import DATASETS
from test_tools.conftest import REPO, run_tool

NUM_IMAGES = 16
ITERS = 60


def _load_tool(rel):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'tool_' + os.path.basename(rel)[:-3], REPO / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A smaller tiny CLIP trained for ITERS steps on 16 synthetic images
    (5 captions each), its config, checkpoint and a gallery folder."""
    root = tmp_path_factory.mktemp('search')
    config = root / 'tiny_search.py'
    base = REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'
    config.write_text(f'''_base_ = [{str(base)!r}]
model = dict(
    image_encoder=dict(width=64, layers=2, patch_size=16, embed_dim=64),
    text_encoder=dict(width=64, layers=2, embed_dim=64))
''')
    cfg = Config.fromfile(str(config))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic and cheap
    try:
        # the model init and the crops of the train pipeline (numpy RNG)
        torch.manual_seed(0)
        np.random.seed(0)
        random.seed(0)
        model = get_model(cfg).train()
        with DefaultScope.overwrite_default_scope('sdtr'):
            dataset = DATASETS.build(
                dict(cfg.train_dataloader.dataset, indices=NUM_IMAGES))
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=40, shuffle=True, collate_fn=pseudo_collate,
            generator=torch.Generator().manual_seed(0))
        optim = torch.optim.AdamW(model.parameters(), lr=2e-3,
                                  weight_decay=0.0)
        step = 0
        while step < ITERS:
            for data in loader:
                data = model.data_preprocessor(data, True)
                loss = sum(model(**data, mode='loss').values())
                optim.zero_grad()
                loss.backward()
                optim.step()
                step += 1
                if step == ITERS:
                    break
    finally:
        torch.set_num_threads(threads)
    ckpt = root / 'tiny_search.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    # gallery: the training images, one caption of each as its query
    gallery = root / 'gallery'
    gallery.mkdir()
    captions = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        name = os.path.basename(info['img_path'])
        if name not in captions:
            shutil.copy(info['img_path'], gallery / name)
            captions[name] = info['text']
    assert len(captions) == NUM_IMAGES
    return dict(config=str(config), ckpt=str(ckpt), gallery=str(gallery),
                captions=captions, root=root)


def test_every_caption_finds_its_image(trained):
    inf = RetrievalInferencer(trained['config'], checkpoint=trained['ckpt'])
    inf.build_gallery(trained['gallery'])
    names = list(trained['captions'])
    results = inf.search([trained['captions'][n] for n in names],
                         topk=NUM_IMAGES)
    ranks = [[os.path.basename(r['item']) for r in res].index(name)
             for name, res in zip(names, results)]
    print('rank of the own image for each caption:', ranks)
    assert max(ranks) < 3, ranks  # always in the top 3 of 16
    assert sum(r == 0 for r in ranks) >= 11, ranks  # mostly first


def test_search_cli_png(trained, tmp_path):
    name = sorted(trained['captions'])[3]
    caption = trained['captions'][name]
    out = tmp_path / 'result.png'
    cache = tmp_path / 'gallery.safetensors'
    proc = run_tool([
        'tools/search.py', '--config', trained['config'], '--checkpoint',
        trained['ckpt'], '--gallery', trained['gallery'], '--query',
        caption, '--topk', '5', '--out', str(out), '--cache', str(cache),
        '--gt', name])
    lines = [ln for ln in proc.stdout.splitlines()
             if re.match(r'\s+\d+\s+-?\d\.\d{4}\s', ln)]
    assert len(lines) == 5, proc.stdout
    hit = [i for i, ln in enumerate(lines) if ln.rstrip().endswith(
        f'{name}  [correct]')]
    assert hit and hit[0] < 3, proc.stdout
    assert sum('[correct]' in ln for ln in lines) == 1
    assert cache.is_file()
    from PIL import Image
    with Image.open(out) as png:
        assert png.format == 'PNG' and png.width > 5 * 160


def test_image_to_text_and_tsne(trained, tmp_path):
    search = _load_tool('tools/search.py')
    names = sorted(trained['captions'])
    caps = tmp_path / 'captions.txt'
    caps.write_text('\n'.join(trained['captions'][n] for n in names))
    query = os.path.join(trained['gallery'], names[0])
    results = search.main([
        '--config', trained['config'], '--checkpoint', trained['ckpt'],
        '--gallery', str(caps), '--query', query, '--topk', '3', '--out',
        str(tmp_path / 'i2t.png'), '--gt', trained['captions'][names[0]]])
    assert [r['rank'] for r in results] == [1, 2, 3]
    assert trained['captions'][names[0]] in [r['item'] for r in results]
    assert (tmp_path / 'i2t.png').is_file()
    pytest.importorskip('sklearn')
    tsne = _load_tool('tools/visualization/vis_tsne.py')
    emb = tsne.main([trained['config'], trained['ckpt'], '--out',
                     str(tmp_path / 'tsne.png'), '--max-images', '12'])
    assert emb.shape == (12 * 6, 2)
    assert (tmp_path / 'tsne.png').is_file()
