"""Shared set-up of the web-app tests: a tiny model (random weights, seed 0)
with two pairs of galleries:

* ``served``: an index of 12 small PNGs of a folder and 6 captions of a
  text file (no annotations);
* ``served_split``: indexes of the images and the captions of the
  synthetic test split (built by ``tools/build_gallery.py --split test``)
  and the split's annotations, plus a caption whose true image the model
  ranks among the first three (so the marks show both kinds).
"""
import pytest

from test_apis.helpers import make_tiny_search_setup


@pytest.fixture(scope='package')
def served(tmp_path_factory):
    from sdtr.search import RetrievalInferencer
    root = tmp_path_factory.mktemp('serve')
    setup = make_tiny_search_setup(root)
    inf = RetrievalInferencer(setup['config'], checkpoint=setup['ckpt'])
    images = inf.build_gallery(setup['images'], cache=str(root / 'img_idx'))
    texts = inf.build_text_gallery(setup['captions'],
                                   cache=str(root / 'cap_idx'))
    return dict(setup, inferencer=inf, image_index=str(root / 'img_idx'),
                caption_index=str(root / 'cap_idx'), images_gallery=images,
                text_gallery=texts, root=root)


def split_dataset(cfg, split='test'):
    """The split's dataset without pipeline (what the tests compare to)."""
    import copy

    from mmengine.registry import DefaultScope

    from sdtr.registry import DATASETS
    ds_cfg = copy.deepcopy(cfg[f'{split}_dataloader']['dataset'])
    ds_cfg['pipeline'] = []
    with DefaultScope.overwrite_default_scope('sdtr'):
        return DATASETS.build(ds_cfg)


@pytest.fixture(scope='package')
def served_split(served):
    import os.path as osp

    from sdtr.search import RetrievalInferencer
    from sdtr.serve.annotations import SplitAnnotations
    from sdtr.tools.build_gallery import main as build_gallery
    root = served['root']
    base = [served['config'], served['ckpt'], '--split', 'test',
            '--workers', '0']
    build_gallery(base + ['--out', str(root / 'split_img_idx')])
    build_gallery(base + ['--kind', 'text', '--out',
                          str(root / 'split_cap_idx')])
    inf = RetrievalInferencer(served['config'], checkpoint=served['ckpt'])
    images = inf.build_gallery(str(root / 'split_img_idx'))
    texts = inf.build_text_gallery(str(root / 'split_cap_idx'))
    dataset = split_dataset(inf.cfg)
    paths = [osp.abspath(p) for p in dataset.img_paths]
    # the first caption whose true image is ranked 2nd or 3rd
    row_of = {item: i for i, item in enumerate(images.items)}
    scores, rows = images.search(inf.encode_text(dataset.captions), 3)
    for caption, truth, found in zip(dataset.captions, dataset.txt2img,
                                     rows.tolist()):
        row = row_of[paths[truth]]
        if row in found[1:]:
            break
    else:
        raise AssertionError('no caption has its image ranked 2nd or 3rd')
    return dict(served, inferencer=inf, images_gallery=images,
                text_gallery=texts, image_index=str(root / 'split_img_idx'),
                caption_index=str(root / 'split_cap_idx'), dataset=dataset,
                paths=paths, annotations=SplitAnnotations.from_config(
                    inf.cfg, 'test'), query=caption, true_row=row,
                true_rank=found.index(row) + 1)
