"""Shared helpers of the API and tool tests (not a conftest)."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TINY_RS = REPO / 'configs' / 'quickstart' / 'clip_tiny_1xb32_synthetic-rs.py'


def load_tool(relpath):
    """Import a script of ``tools/`` as a module (to call its functions)."""
    path = REPO / relpath
    spec = importlib.util.spec_from_file_location(
        'tool_' + path.stem.replace('-', '_'), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_tiny_search_setup(root, num_images=12, img_size=32):
    """A small random-init CLIP (seed 0) saved as a checkpoint, a folder of
    ``num_images`` distinct small PNGs and a caption file: what the search,
    index and web-app tests need.  Returns a dict of paths and names."""
    import numpy as np
    import torch
    from PIL import Image

    from sdtr.apis import get_model
    root = Path(root)
    config = root / 'tiny_search.py'
    config.write_text(f'''_base_ = [{str(TINY_RS)!r}]
model = dict(
    image_encoder=dict(width=64, layers=2, patch_size=16, embed_dim=64),
    text_encoder=dict(width=64, layers=2, embed_dim=64))
''')
    torch.manual_seed(0)
    model = get_model(str(config))
    ckpt = root / 'tiny_search.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    images = root / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    paths = []
    for i in range(num_images):
        arr = rng.integers(0, 256, (img_size, img_size, 3), dtype=np.uint8)
        arr[: img_size // 2] = (37 * i) % 256  # distinct halves
        path = images / f'tile_{i:02d}.png'
        Image.fromarray(arr).save(path)
        paths.append(str(path))
    captions = root / 'captions.txt'
    caps = ['many planes are parked next to a terminal',
            'a river crosses a green forest', 'two tennis courts',
            'a white ship in a harbour', 'dense residential buildings',
            'a bare desert with dunes']
    captions.write_text('\n'.join(caps) + '\n')
    return dict(config=str(config), ckpt=str(ckpt), images=str(images),
                paths=paths, captions=str(captions), caption_list=caps)
