"""Synthetic scene-classification data in the folder-of-classes layout.

AID, RESISC45, UC Merced and EuroSAT are distributed as one folder per scene
class (``<root>/<ClassName>/<image>``).  This generator writes the same layout
with the aerial-looking scenes of :mod:`sdtr.datasets.synthetic.rs` (scene
background plus a random group of objects), so scene classifiers (the PIR
instruction encoder) and zero-shot scene classification can be trained and
evaluated anywhere with the ordinary folder loaders.

Layout of the returned folder::

    train/<scene>/<scene>_<n>.png
    test/<scene>/<scene>_<n>.png
    classes.txt        (one class name per line, in label order)
    meta.json
"""
from pathlib import Path
from typing import Optional

import numpy as np

from sdtr.utils.progress import Progress
from .cache import materialize
from .rs import COLOUR_NAMES, KINDS, PLACES, SCENES, _write_image, \
    render_rs_image

VERSION = 1


def _writer(train_per_class, test_per_class, img_size, seed, scenes):

    def write(root: Path) -> dict:
        rng = np.random.default_rng(seed)
        counts = {}
        progress = Progress(len(scenes) * (train_per_class + test_per_class),
                            'synthetic scene folders', unit='image')
        for split, per_class in (('train', train_per_class),
                                 ('test', test_per_class)):
            for scene in scenes:
                folder = root / split / scene
                folder.mkdir(parents=True)
                for n in range(per_class):
                    kind = KINDS[int(rng.integers(len(KINDS)))]
                    colour = COLOUR_NAMES[int(rng.integers(
                        len(COLOUR_NAMES)))]
                    count = int(rng.integers(1, 5))
                    place = PLACES[int(rng.integers(len(PLACES)))]
                    img = render_rs_image(scene, kind, colour, count, place,
                                          img_size, rng)
                    _write_image(folder / f'{scene}_{n:04d}.png', img, 'png')
                    progress.update()
                counts[f'{split}/{scene}'] = per_class
        progress.close()
        (root / 'classes.txt').write_text('\n'.join(scenes) + '\n')
        return dict(classes=list(scenes), counts=counts)

    return write


def make_synthetic_scene_folders(out_dir: Optional[str] = None,
                                 train_per_class: int = 24,
                                 test_per_class: int = 8,
                                 img_size: int = 64,
                                 num_scenes: int = 10,
                                 seed: int = 0,
                                 force: bool = False) -> str:
    """Generate (once) a folder-of-classes scene dataset.

    Args:
        out_dir (str, optional): target folder; default
            ``$SDTR_CACHE/synthetic/synthetic_scenes-v1-<hash>``.
        train_per_class, test_per_class (int): images per class and split.
        img_size (int): image side in pixels.
        num_scenes (int): number of scene classes (2..10), the first
            ``num_scenes`` of :data:`sdtr.datasets.synthetic.rs.SCENES`.
        seed (int): random seed; the same arguments give the same bytes.
        force (bool): regenerate even when cached.

    Returns:
        str: the dataset folder (with ``train/`` and ``test/``).
    """
    if not 2 <= num_scenes <= len(SCENES):
        raise ValueError(f'num_scenes must be in 2..{len(SCENES)}, '
                         f'got {num_scenes}')
    if train_per_class < 1 or test_per_class < 1:
        raise ValueError('train_per_class and test_per_class must be >= 1')
    scenes = SCENES[:num_scenes]
    params = dict(train_per_class=train_per_class,
                  test_per_class=test_per_class, img_size=img_size,
                  num_scenes=num_scenes, seed=seed)
    root = materialize(
        'synthetic_scenes', VERSION, params,
        _writer(train_per_class, test_per_class, img_size, seed, scenes),
        out_dir=out_dir, force=force)
    return str(root)
