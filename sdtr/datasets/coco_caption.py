"""COCO-captions json (several RSICD / UCM / Sydney releases)."""
from collections import OrderedDict
from typing import List

from sdtr.registry import DATASETS
from .base_retrieval_dataset import BaseRetrievalDataset
from .errors import BadSampleError
from .utils import load_json, require_keys


@DATASETS.register_module()
class COCOCaptionDataset(BaseRetrievalDataset):
    """Captions in the COCO-captions layout::

        {"images": [{"id": 9828, "file_name": "viaduct_322.jpg", ...}, ...],
         "annotations": [{"id": 0, "image_id": 9828,
                          "caption": "many buildings ..."}, ...]}

    One file per split (e.g. ``captions_test2017.json``), so the split is
    chosen by ``ann_file``; ``split`` only declares which one it is.  Images
    keep the order of ``images``; captions the order of ``annotations``.

    Args:
        **kwargs: see :class:`BaseRetrievalDataset`.
    """

    DATASET_NAME = 'coco_captions'

    def parse_annotations(self) -> List[dict]:
        file = str(self.ann_file)
        data = load_json(file)
        if not isinstance(data, dict) or not isinstance(
                data.get('images'), list) or not isinstance(
                    data.get('annotations'), list):
            raise BadSampleError(
                'expected a COCO-captions json object with lists "images" '
                '(id, file_name) and "annotations" (image_id, caption)',
                file=file, entry='images/annotations')
        images = OrderedDict()
        for i, img in enumerate(data['images']):
            where = f'images[{i}]'
            try:
                require_keys(img, ('id', 'file_name'), ((int, str), str),
                             file, where)
                if img['id'] in images:
                    raise BadSampleError(
                        f"duplicate image id {img['id']!r}; expected unique "
                        'ids', file=file, entry=where)
            except BadSampleError as err:
                self._handle_bad(err)
                continue
            images[img['id']] = dict(
                img_path=img['file_name'], captions=[], caption_entries=[],
                file=file, entry=f"{where} (id {img['id']}, "
                f"{img['file_name']!r})")
        for k, ann in enumerate(data['annotations']):
            where = f'annotations[{k}]'
            try:
                require_keys(ann, ('image_id', 'caption'), ((int, str), str),
                             file, where)
                if ann['image_id'] not in images:
                    raise BadSampleError(
                        f"image_id {ann['image_id']!r} is not an id of "
                        '"images"', file=file, entry=where)
            except BadSampleError as err:
                self._handle_bad(err)
                continue
            rec = images[ann['image_id']]
            rec['captions'].append(ann['caption'])
            rec['caption_entries'].append(where)
        return list(images.values())
