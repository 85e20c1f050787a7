"""ICFG-PEDES (text-based person search)."""
from sdtr.registry import DATASETS
from .errors import BadSampleError
from .person_json_dataset import PersonJsonDataset


@DATASETS.register_module()
class ICFGPEDESDataset(PersonJsonDataset):
    """ICFG-PEDES in IRRA's layout::

        data_root/            (e.g. data/ICFG-PEDES)
            ICFG-PEDES.json   [{"split", "captions", "file_path", "id"}, ...]
            imgs/<file_path>  (train/..., test/...)

    The IRRA README calls the json ``ICFG_PEDES.json`` while its code opens
    ``ICFG-PEDES.json``; set ``ann_file`` to the name you have.

    ICFG-PEDES has **no val split**: ``split='val'`` raises an error rather
    than silently evaluating on test.  Configs must set ``val_dataloader``,
    ``val_evaluator`` and ``val_cfg`` to ``None`` (and select checkpoints
    without a val metric).
    """

    SPLITS = ('train', 'test')
    DATASET_NAME = 'ICFG-PEDES'
    PATH_KEY = 'file_path'

    def _check_split(self) -> None:
        if self.split == 'val':
            raise BadSampleError(
                'ICFG-PEDES has no val split (only train and test). Do not '
                'evaluate on the test split in its place: set '
                'val_dataloader=None, val_evaluator=None and val_cfg=None '
                '(see configs/_base_/datasets/icfgpedes.py), and pick the '
                'checkpoint without a val metric (e.g. the last epoch)',
                file=str(self.ann_file), entry="split='val'")
        super()._check_split()
