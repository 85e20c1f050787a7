"""Captions and identities of a dataset split, for labelling search results.

A gallery built from a dataset split (``tools/build_gallery.py --split
test``) holds the split's image files and captions; the split's annotations
then say which captions describe each image and which results are true
matches, the relevance rule of the evaluation metrics
(``docs/inference.md#web-app-toolsservepy--sdtr-serve``): a caption and an
image match when they share an identity (``pid``; in remote-sensing data
every image is its own identity, in person search a person has several
images).  An image folder has no annotations: its results carry no captions
and no marks.
"""
import os.path as osp
from typing import Dict, FrozenSet, List, Optional, Tuple


class SplitAnnotations:
    """Per-image captions and identities, looked up by image path and
    caption text.

    Args:
        name (str): what the annotations are (shown by the page).
        img_paths (list[str]): image files (made absolute).
        image_pids (list[int]): identity of every image.
        img2txt (list[list[int]]): caption indices of every image.
        captions (list[str]): all captions.
        text_pids (list[int]): identity of every caption.
    """

    def __init__(self, name: str, img_paths: List[str],
                 image_pids: List[int], img2txt: List[List[int]],
                 captions: List[str], text_pids: List[int]):
        if not len(img_paths) == len(image_pids) == len(img2txt):
            raise ValueError(f'{name}: {len(img_paths)} images, '
                             f'{len(image_pids)} identities and '
                             f'{len(img2txt)} caption lists differ in length')
        if len(captions) != len(text_pids):
            raise ValueError(f'{name}: {len(captions)} captions but '
                             f'{len(text_pids)} caption identities')
        self.name = name
        self._images: Dict[str, Tuple[int, List[str]]] = {
            osp.abspath(path): (int(pid), [captions[t] for t in ids])
            for path, pid, ids in zip(img_paths, image_pids, img2txt)}
        pids: Dict[str, set] = {}
        for text, pid in zip(captions, text_pids):
            pids.setdefault(text.strip(), set()).add(int(pid))
        self._caption_pids = {k: frozenset(v) for k, v in pids.items()}

    @classmethod
    def from_config(cls, cfg, split: str) -> 'SplitAnnotations':
        """The annotations of ``cfg``'s ``<split>_dataloader`` dataset (read
        without its pipeline and without opening the images)."""
        import copy

        from mmengine.registry import DefaultScope

        from sdtr.registry import DATASETS
        loader = cfg.get(f'{split}_dataloader') or {}
        if not loader.get('dataset'):
            raise KeyError(f'config {getattr(cfg, "filename", None)!r} has no '
                           f'{split}_dataloader.dataset to take captions '
                           'from')
        ds_cfg = copy.deepcopy(loader['dataset'])
        ds_cfg.update(pipeline=[], test_mode=True, check_images=False)
        with DefaultScope.overwrite_default_scope('sdtr'):
            dataset = DATASETS.build(ds_cfg)
        return cls(f'the {split} split', dataset.img_paths,
                   dataset.image_pids, dataset.img2txt, dataset.captions,
                   dataset.text_pids)

    @property
    def num_images(self) -> int:
        return len(self._images)

    def image(self, path: str) -> Optional[Tuple[int, List[str]]]:
        """``(identity, captions)`` of an image file, None if the split does
        not have it."""
        return self._images.get(osp.abspath(path))

    def caption_pids(self, text: str) -> FrozenSet[int]:
        """Identities of the images that ``text`` describes (empty for a
        sentence that is no caption of the split)."""
        return self._caption_pids.get(text.strip(), frozenset())
