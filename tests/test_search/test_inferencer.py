"""RetrievalInferencer: pipeline, normalised features, galleries, search."""
import numpy as np
import pytest
import torch
from PIL import Image

from sdtr.apis import get_model
from sdtr.search import RetrievalInferencer, load_gallery
from sdtr.registry import INFERENCERS
from test_apis.helpers import TINY_RS


@pytest.fixture(scope='module')
def inferencer():
    torch.manual_seed(0)
    return RetrievalInferencer(str(TINY_RS), batch_size=3)


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp('imgs')
    rng = np.random.default_rng(0)
    arrays, paths = [], []
    for i in range(5):
        arr = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        path = root / ('sub' if i % 2 else '.') / f'img_{i}.png'
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(arr).save(path)
        arrays.append(arr)
        paths.append(str(path))
    (root / 'notes.txt').write_text('not an image')
    return root, arrays, paths


def test_registered():
    assert INFERENCERS.get('RetrievalInferencer') is RetrievalInferencer


def test_encode_paths_arrays_and_text(inferencer, images):
    _, arrays, paths = images
    f_paths = inferencer.encode_image(paths)
    f_arrays = inferencer.encode_image(arrays)  # RGB arrays
    assert f_paths.shape == (5, 128)
    torch.testing.assert_close(f_paths, f_arrays, atol=1e-6, rtol=0)
    assert torch.allclose(f_paths.norm(dim=-1), torch.ones(5), atol=1e-5)
    # batching does not change features
    torch.testing.assert_close(inferencer.encode_image(paths[:1]),
                               f_paths[:1], atol=1e-6, rtol=0)
    t = inferencer.encode_text(['a red car', 'two green trees'])
    assert t.shape == (2, 128)
    assert torch.allclose(t.norm(dim=-1), torch.ones(2), atol=1e-5)
    # the retriever's own predict() gives the same embedding
    model = inferencer.model
    data = model.data_preprocessor(
        dict(inputs=[torch.from_numpy(arrays[0][..., ::-1].copy())
                     .permute(2, 0, 1)], data_samples=None), False)
    with torch.no_grad():
        ref = model.predict(data['inputs'])[0].img_feat
    torch.testing.assert_close(f_arrays[0], ref, atol=1e-6, rtol=0)


def test_bad_images(inferencer, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.png'):
        inferencer.encode_image(str(tmp_path / 'missing.png'))
    with pytest.raises(ValueError, match='HxWx3 uint8'):
        inferencer.encode_image(np.zeros((8, 8), dtype=np.uint8))
    with pytest.raises(ValueError, match='HxWx3 uint8'):
        inferencer.encode_image(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(FileNotFoundError, match='no image files'):
        inferencer.build_gallery(str(tmp_path))


def test_gallery_cache_and_search(inferencer, images, tmp_path):
    root, arrays, paths = images
    cache = str(tmp_path / 'g.safetensors')
    gallery = inferencer.build_gallery(str(root), cache=cache)
    assert sorted(gallery.items) == sorted(paths)  # recursive, no .txt
    stored = load_gallery(cache)
    assert stored.items == gallery.items and stored.kind == 'image'
    # reused when nothing changed: same object content, no re-encoding
    inferencer.encode_image = None  # would fail if called
    try:
        again = inferencer.build_gallery(str(root), cache=cache)
    finally:
        del inferencer.encode_image
    assert torch.equal(again.features, gallery.features)
    # text -> image: an image's own feature as query ranks it first
    hits = inferencer.search('a red car', topk=3)
    assert [h['rank'] for h in hits] == [1, 2, 3]
    assert hits[0]['score'] >= hits[1]['score'] >= hits[2]['score']
    assert all(h['item'] in paths for h in hits)
    # image -> text needs a text gallery
    with pytest.raises(RuntimeError, match='build_text_gallery'):
        inferencer.search(paths[0])
    captions = ['a red car', 'two green trees', 'a harbor with boats']
    inferencer.build_text_gallery(captions)
    res = inferencer.search([arrays[0], paths[1]], topk=2)
    assert len(res) == 2 and all(len(r) == 2 for r in res)
    assert all(r['item'] in captions for rr in res for r in rr)
    # modality='text' forces a caption query (against the image gallery)
    own = inferencer.search('two green trees', topk=1, modality='text')
    assert own[0]['item'] in paths


def test_model_instance_needs_config():
    model = get_model(str(TINY_RS))
    inf = RetrievalInferencer(model)
    assert inf.model is model
    model._config = None
    with pytest.raises(ValueError, match='needs its config'):
        RetrievalInferencer(model)


def test_non_retriever_is_refused(tmp_path):
    cfg = tmp_path / 'not_a_retriever.py'
    cfg.write_text(f'''_base_ = [{str(TINY_RS)!r}]
model = dict(_delete_=True, type='InfoNCELoss')  # a module, no retriever
''')
    with pytest.raises(TypeError, match='not an image-text retriever'):
        RetrievalInferencer(str(cfg))
