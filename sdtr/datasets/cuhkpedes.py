"""CUHK-PEDES (text-based person search)."""
import logging

from mmengine.logging import print_log

from sdtr.registry import DATASETS
from .person_json_dataset import PersonJsonDataset


@DATASETS.register_module()
class CUHKPEDESDataset(PersonJsonDataset):
    """CUHK-PEDES in IRRA's layout::

        data_root/            (e.g. data/CUHK-PEDES)
            reid_raw.json     [{"split", "captions", "file_path", "id",
                                "processed_tokens"}, ...]
            imgs/<file_path>

    As in IRRA, entries whose split is neither ``train`` nor ``test`` are
    the val split.  Train identities are relabelled to ``0..N-1`` in sorted
    id order.  IRRA instead uses ``id - 1`` and asserts the ids are
    contiguous from 1; both agree exactly when that holds, which is checked
    at load time: :attr:`irra_compatible_ids` tells the result (a warning is
    logged otherwise, or an error with ``strict_irra_ids=True``).

    Args:
        strict_irra_ids (bool): raise if the train ids are not ``1..N``.
        **kwargs: see :class:`BaseRetrievalDataset`.
    """

    DATASET_NAME = 'CUHK-PEDES'
    PATH_KEY = 'file_path'

    def __init__(self, *args, strict_irra_ids: bool = False, **kwargs):
        self.strict_irra_ids = strict_irra_ids
        self.irra_compatible_ids = None
        super().__init__(*args, **kwargs)

    def map_split(self, value: str):
        return value if value in ('train', 'test') else 'val'

    def _assign_labels_and_pids(self, records):
        super()._assign_labels_and_pids(records)
        if self.split != 'train' or not self.pid_map:
            return
        raw = sorted(self.pid_map)
        ok = all(isinstance(r, int) for r in raw) and raw == list(
            range(1, len(raw) + 1))
        self.irra_compatible_ids = ok
        if ok:
            print_log(
                f'CUHK-PEDES train: {len(raw)} ids are 1..{len(raw)}, so '
                'pid == id - 1 exactly as in IRRA', logger='current',
                level=logging.INFO)
            return
        msg = (f'CUHK-PEDES train ids are not contiguous from 1 (min '
               f'{raw[0]}, max {raw[-1]}, {len(raw)} ids): pids are '
               'relabelled in sorted order and differ from IRRA\'s id - 1')
        if self.strict_irra_ids:
            raise ValueError(f'{self.ann_file}: {msg}')
        print_log(msg, logger='current', level=logging.WARNING)
