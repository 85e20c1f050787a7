"""PIR / X-VLM style retrieval json (``data/finetune/*.json``)."""
import posixpath
from collections import OrderedDict
from typing import List

from sdtr.registry import DATASETS
from .base_retrieval_dataset import BaseRetrievalDataset
from .errors import BadSampleError
from .utils import load_json, require_keys


@DATASETS.register_module()
class PIRCaptionDataset(BaseRetrievalDataset):
    """Captions in PIR's json files (``rsitmd_train.json``,
    ``rsicd_test.json``, ...).  Two layouts, detected per file:

    * train: a list with **one entry per caption**
      ``{"image": "train/bridge_942.tif", "caption": "...",
      "image_id": 12, "label_name": "bridge", "label": 0}``
      (``image_id``/``label``/``label_name`` optional).  Entries are grouped
      by ``image`` (first-appearance order).
    * eval: a list with **one entry per image**
      ``{"image": "test/parking_229.tif", "caption": ["...", x5]}``
      (``label``/``label_name`` optional).

    The split is chosen by ``ann_file``; ``split`` declares which one it is.
    When an entry has ``label_name`` it is used as the scene name (else the
    file-name rule); the numeric ``label`` of the file is ignored because
    sdtr numbers classes in sorted name order (PIR numbers them by first
    appearance).

    PIR's image paths carry the folder of their split (``train/...``,
    ``val/...``, ``test/...``: PIR's own image download is split into
    folders).  The RSITMD and RSICD releases ship one flat image folder; set
    ``image_name_only=True`` to keep only the file name of each path and
    read every split from that one folder (``configs/_base_/datasets/
    rsitmd_pir.py`` and ``rsicd_pir.py`` do).

    Real files: PIR's ``data/finetune/rsitmd_{train,val,test}.json`` (3,435
    / 856 / 452 images) and ``rsicd_{train,val,test}.json`` (val 1,966 /
    test 1,093); see ``docs/datasets.md``.

    Args:
        image_name_only (bool): use only the base name of each ``image``
            path (default False: the path as written, relative to
            ``data_prefix['img_path']``).
        **kwargs: see :class:`BaseRetrievalDataset`.
    """

    DATASET_NAME = 'pir'

    def __init__(self, *args, image_name_only: bool = False, **kwargs):
        self.image_name_only = image_name_only
        super().__init__(*args, **kwargs)

    def parse_annotations(self) -> List[dict]:
        file = str(self.ann_file)
        data = load_json(file)
        if not isinstance(data, list):
            raise BadSampleError(
                'expected a json list of {"image", "caption"} entries '
                f'(PIR layout), got {type(data).__name__}', file=file,
                entry='<root>')
        layout = None
        images = OrderedDict()
        for i, ent in enumerate(data):
            where = f'[{i}]'
            try:
                require_keys(ent, ('image', 'caption'), (str, (str, list)),
                             file, where)
                this = 'eval' if isinstance(ent['caption'], list) else 'train'
                if layout is None:
                    layout = this
                elif this != layout:
                    raise BadSampleError(
                        f'"caption" is a {type(ent["caption"]).__name__} '
                        f'but earlier entries use the {layout} layout '
                        '(str per caption for train, list per image for '
                        'eval)', file=file, entry=where)
                if 'label_name' in ent and not isinstance(
                        ent['label_name'], str):
                    raise BadSampleError(
                        '"label_name" should be a string, got '
                        f'{type(ent["label_name"]).__name__}', file=file,
                        entry=where)
            except BadSampleError as err:
                self._handle_bad(err)
                continue
            key = ent['image']
            rec = images.get(key)
            if rec is None:
                rec = images[key] = dict(
                    img_path=(posixpath.basename(key.replace('\\', '/'))
                              if self.image_name_only else key), captions=[], caption_entries=[],
                    label_name=ent.get('label_name'), file=file,
                    entry=f'{where} ({key!r})')
            elif layout == 'eval':
                self._handle_bad(BadSampleError(
                    f'image {key!r} appears twice in an eval file; expected '
                    'one entry per image', file=file, entry=where))
                continue
            if layout == 'eval':
                rec['captions'].extend(ent['caption'])
                rec['caption_entries'].extend(
                    f'{where} caption[{j}]'
                    for j in range(len(ent['caption'])))
            else:
                rec['captions'].append(ent['caption'])
                rec['caption_entries'].append(where)
        return list(images.values())
