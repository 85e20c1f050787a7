"""RSTPReid (text-based person search)."""
from sdtr.registry import DATASETS
from .person_json_dataset import PersonJsonDataset


@DATASETS.register_module()
class RSTPReidDataset(PersonJsonDataset):
    """RSTPReid in IRRA's layout::

        data_root/               (e.g. data/RSTPReid)
            data_captions.json   [{"id", "img_path", "captions",
                                   "split": train/val/test}, ...]
            imgs/<img_path>

    Train ids start at 0 in the release; they are relabelled to
    ``0..N-1`` in sorted order anyway (a no-op when contiguous).
    """

    DATASET_NAME = 'RSTPReid'
    PATH_KEY = 'img_path'
