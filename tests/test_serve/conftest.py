"""Shared set-up of the web-app tests: a tiny model, an image index of 12
small PNGs and a caption gallery."""
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
