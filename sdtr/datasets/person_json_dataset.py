"""Shared parser of the IRRA-style person-search json files."""
from typing import List

from sdtr.registry import DATASETS
from .base_retrieval_dataset import BaseRetrievalDataset
from .errors import BadSampleError
from .utils import load_json, require_keys


@DATASETS.register_module()
class PersonJsonDataset(BaseRetrievalDataset):
    """Abstract base of CUHK-PEDES, ICFG-PEDES and RSTPReid.

    The annotation is a json list of entries
    ``{"split": str, "captions": [str, ...], PATH_KEY: str, "id": int}``;
    images live under ``data_root/imgs`` (``data_prefix``).  Subclasses set
    ``PATH_KEY`` and :meth:`map_split` (annotation split value -> one of
    ``SPLITS``, or ``None`` for an unknown value).

    Person datasets use ``pid`` = the annotation ``id`` (relabelled
    ``0..num_classes-1`` on the train split) and have no scene labels
    (``label == -1``) unless ``scene_rule`` is set.
    """

    DOMAIN = 'person'
    DEFAULT_SCENE_RULE = None
    PATH_KEY = 'file_path'

    def map_split(self, value: str):
        """Map a ``split`` value of the json to train/val/test (or None)."""
        return value if value in self.SPLITS else None

    def parse_annotations(self) -> List[dict]:
        file = str(self.ann_file)
        data = load_json(file)
        if not isinstance(data, list):
            raise BadSampleError(
                'expected a json list of {"split", "captions", '
                f'"{self.PATH_KEY}", "id"}} entries, got '
                f'{type(data).__name__}', file=file, entry='<root>')
        keys = ('split', 'captions', self.PATH_KEY, 'id')
        records = []
        for i, ent in enumerate(data):
            where = f'[{i}]'
            try:
                require_keys(ent, keys, (str, list, str, int), file, where)
                split = self.map_split(ent['split'])
                if split is None:
                    raise BadSampleError(
                        f"unknown split value {ent['split']!r}; expected "
                        f'one of {list(self.SPLITS)}', file=file,
                        entry=where)
            except BadSampleError as err:
                self._handle_bad(err)
                continue
            if split != self.split:
                continue
            records.append(dict(
                img_path=ent[self.PATH_KEY], captions=ent['captions'],
                pid=ent['id'], file=file,
                entry=f"{where} (id {ent['id']}, {ent[self.PATH_KEY]!r})"))
        return records
