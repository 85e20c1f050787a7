"""Folder-of-classes scene dataset with zero-shot prompt templates.

AID, RESISC45, UC Merced and EuroSAT (and the synthetic scenes of
:func:`sdtr.datasets.make_synthetic_scene_folders`) ship one folder per
scene class::

    <data_root>/<split>/<ClassName>/<image>.{jpg,png,tif,...}
    <data_root>/classes.txt     (optional: class folders in label order)

Labels follow ``classes`` (given, or ``classes.txt``, or the sorted folder
names).  For zero-shot classification every class is described by prompts
``template.format(name)`` where ``name`` is a readable class name
(``class_names`` mapping, else the folder name with ``_``/``-`` and
CamelCase split into lower-case words: ``DenseResidential`` ->
``dense residential``); a CLIP-style model embeds every prompt, averages the
unit embeddings of a class and re-normalises (prompt ensembling, Radford et
al. 2021 §3.1.4), see :class:`~sdtr.engine.runner.ZeroShotClassificationLoop`.

Items are ``dict(img_path, gt_label, sample_idx)``; pack them with
``mmpretrain.PackInputs`` (the image stays BGR uint8, the sdtr data
preprocessor converts and normalises it).
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset

from sdtr.registry import DATASETS
from sdtr.utils.rng import SeededSamplesMixin
from .errors import BadSampleError, check_dataset_kwargs

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.tif', '.tiff', '.bmp', '.webp')

#: prompt template sets (our own wording, satellite / aerial phrasing).
TEMPLATES = {
    'single': ('a satellite photo of {}.', ),
    'rs': (
        'a satellite photo of {}.',
        'an aerial photo of {}.',
        'a remote sensing image of {}.',
        'a satellite image showing {}.',
        'an aerial view of {}.',
        'a top-down photo of {}.',
        'a high-resolution satellite photo of {}.',
        'a low-resolution satellite photo of {}.',
    ),
}


def readable_class_name(folder: str) -> str:
    """``'DenseResidential'`` / ``'dense_residential'`` ->
    ``'dense residential'``."""
    name = re.sub(r'[_\-]+', ' ', folder)
    name = re.sub(r'(?<=[a-z0-9])(?=[A-Z])', ' ', name)
    return ' '.join(name.lower().split())


@DATASETS.register_module()
class SceneFolderDataset(SeededSamplesMixin, BaseDataset):
    """Scene classification images in a folder-of-classes layout.

    Args:
        data_root (str): dataset root.
        split (str, optional): sub-folder holding the class folders
            (``'test'``); None or ``''`` = ``data_root`` itself.
        classes (Sequence[str] | str, optional): class folders in label
            order, or a text file (one per line, relative to
            ``data_root``); default ``classes.txt`` if present, else the
            sorted folder names.
        class_names (dict, optional): folder -> readable name for prompts.
        templates (str | Sequence[str]): a key of :data:`TEMPLATES` or
            format strings with one ``{}``.
        extensions (Sequence[str]): image file extensions.
        pipeline (list): transforms (``LoadImage``, resize,
            ``mmpretrain.PackInputs``).
        indices (int | Sequence[int], optional): keep a subset.
    """

    def __init__(self,
                 data_root: str,
                 split: Optional[str] = 'test',
                 classes: Union[Sequence[str], str, None] = None,
                 class_names: Optional[Dict[str, str]] = None,
                 templates: Union[str, Sequence[str]] = 'rs',
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 pipeline: Sequence = (),
                 test_mode: bool = True,
                 indices=None,
                 lazy_init: bool = False,
                 **kwargs):
        check_dataset_kwargs(type(self), kwargs)
        if isinstance(templates, str):
            if templates not in TEMPLATES:
                raise KeyError(f'unknown template set {templates!r}; choose '
                               f'from {sorted(TEMPLATES)} or pass a list')
            templates = TEMPLATES[templates]
        templates = list(templates)
        if not templates or any(t.count('{}') != 1 for t in templates):
            raise ValueError('every template needs exactly one "{}" '
                             f'placeholder, got {templates}')
        self.templates = templates
        self.split = split or ''
        self._classes_arg = classes
        self.class_names = dict(class_names or {})
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(ann_file='', data_root=data_root,
                         pipeline=list(pipeline), test_mode=test_mode,
                         indices=indices, lazy_init=lazy_init, **kwargs)

    def _class_list(self, folder: str) -> List[str]:
        classes = self._classes_arg
        if classes is None and osp.isfile(osp.join(self.data_root,
                                                   'classes.txt')):
            classes = 'classes.txt'
        if isinstance(classes, str):
            path = osp.join(self.data_root, classes)
            if not osp.isfile(path):
                raise BadSampleError('class list file does not exist',
                                     file=path)
            with open(path) as f:
                return [ln.strip() for ln in f if ln.strip()]
        if classes is not None:
            return list(classes)
        return sorted(d for d in os.listdir(folder)
                      if osp.isdir(osp.join(folder, d)))

    def load_data_list(self) -> List[dict]:
        folder = osp.join(self.data_root, self.split)
        if not osp.isdir(folder):
            raise BadSampleError(
                'split folder does not exist; expected <data_root>/<split>/'
                '<class>/<images>', file=folder)
        classes = self._class_list(folder)
        if not classes:
            raise BadSampleError('no class folder found', file=folder)
        data_list = []
        for label, cls in enumerate(classes):
            cdir = osp.join(folder, cls)
            if not osp.isdir(cdir):
                raise BadSampleError(
                    f'class {cls!r} has no folder; expected {cdir}',
                    file=folder, entry=cls)
            files = sorted(f for f in os.listdir(cdir)
                           if f.lower().endswith(self.extensions))
            if not files:
                raise BadSampleError(f'class folder has no image with an '
                                     f'extension in {self.extensions}',
                                     file=cdir, entry=cls)
            for f in files:
                data_list.append(dict(img_path=osp.join(cdir, f),
                                      gt_label=label))
        names = [self.class_names.get(c, readable_class_name(c))
                 for c in classes]
        self._metainfo.update(classes=tuple(classes),
                              class_names=tuple(names),
                              templates=tuple(self.templates))
        return data_list

    def class_prompts(self) -> List[List[str]]:
        """Prompts of every class, in label order."""
        names = self.metainfo['class_names']
        return [[t.format(n) for t in self.templates] for n in names]
