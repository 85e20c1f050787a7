"""Karpathy-style caption json (RSICD, RSITMD, UCM-captions, Sydney)."""
from typing import Dict, List, Optional, Sequence

from sdtr.registry import DATASETS
from .base_retrieval_dataset import BaseRetrievalDataset
from .errors import BadSampleError
from .utils import load_json, require_keys

DEFAULT_SPLIT_NAMES = dict(
    train=('train', 'restval'), val=('val', ), test=('test', ))


@DATASETS.register_module()
class KarpathyCaptionDataset(BaseRetrievalDataset):
    """Captions in the "Karpathy split" json used by RSICD
    (``dataset_rsicd.json``), RSITMD (``dataset_RSITMD.json``), UCM-captions
    and Sydney-captions::

        {"images": [{"filename": "airport_1.jpg", "split": "train",
                     "sentences": [{"raw": "many planes ...", ...}, ...],
                     ...}, ...], ...}

    One json holds every split; ``split`` selects the images whose
    ``split`` value is in ``split_names[split]`` (by default ``'restval'``
    counts as train).  An optional ``filepath`` field is joined in front of
    ``filename`` when ``use_filepath=True``.

    Args:
        split_names (dict, optional): requested split -> accepted values of
            the ``split`` field.
        use_filepath (bool): join ``filepath`` (when present) with
            ``filename``.  Defaults to True.
        **kwargs: see :class:`BaseRetrievalDataset`.
    """

    DATASET_NAME = 'karpathy'

    def __init__(self, *args,
                 split_names: Optional[Dict[str, Sequence[str]]] = None,
                 use_filepath: bool = True, **kwargs):
        self.split_names = dict(DEFAULT_SPLIT_NAMES)
        if split_names:
            self.split_names.update(
                {k: tuple(v) for k, v in split_names.items()})
        self.use_filepath = use_filepath
        super().__init__(*args, **kwargs)

    def parse_annotations(self) -> List[dict]:
        file = str(self.ann_file)
        data = load_json(file)
        if not isinstance(data, dict) or not isinstance(
                data.get('images'), list):
            raise BadSampleError(
                'expected a Karpathy-style json object with a list under '
                '"images" (each with filename, split, sentences[].raw)',
                file=file, entry='images')
        wanted = set(self.split_names[self.split])
        known = set().union(*self.split_names.values(),
                            *DEFAULT_SPLIT_NAMES.values())
        records = []
        for i, img in enumerate(data['images']):
            where = f'images[{i}]'
            try:
                require_keys(img, ('filename', 'split', 'sentences'),
                             (str, str, list), file, where)
                if img['split'] not in known:
                    raise BadSampleError(
                        f"unknown split value {img['split']!r}; expected "
                        f'one of {sorted(known)}', file=file, entry=where)
            except BadSampleError as err:
                self._handle_bad(err)
                continue
            if img['split'] not in wanted:
                continue
            where = f"images[{i}] ({img['filename']!r})"
            caps, cap_entries = [], []
            bad = False
            for j, sent in enumerate(img['sentences']):
                cwhere = f'{where} sentences[{j}]'
                try:
                    require_keys(sent, ('raw', ), (str, ), file, cwhere)
                except BadSampleError as err:
                    self._handle_bad(err)
                    bad = True
                    continue
                caps.append(sent['raw'])
                cap_entries.append(cwhere)
            if bad and not caps:
                continue
            path = img['filename']
            if self.use_filepath and isinstance(img.get('filepath'), str) \
                    and img['filepath']:
                path = f"{img['filepath']}/{path}"
            records.append(dict(
                img_path=path, captions=caps, caption_entries=cap_entries,
                file=file, entry=where))
        return records
