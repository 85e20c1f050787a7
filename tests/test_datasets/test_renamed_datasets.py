"""Old dataset type names still build the renamed class, warning once."""
import warnings

import pytest

import sdtr.datasets as datasets
from sdtr.datasets import renamed
from sdtr.registry import DATASETS


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(renamed, '_WARNED', set())


def test_every_new_name_is_registered_and_follows_the_scheme():
    for old, new in renamed.RENAMED_DATASETS.items():
        assert new.endswith('Dataset') and DATASETS.get(new) is getattr(
            datasets, new)
        assert DATASETS.get(old) is not DATASETS.get(new)  # the alias
    # every registered dataset class of sdtr follows the scheme
    for name, obj in DATASETS.module_dict.items():
        if name not in renamed.RENAMED_DATASETS:
            assert name.endswith('Dataset'), name


def test_old_type_builds_the_new_class_and_warns_once(fresh):
    cfg = dict(type='SyntheticPersonCaptions', format='rstpreid',
               split='test', test_mode=True)
    with pytest.warns(FutureWarning, match="'SyntheticPersonCaptions' was "
                      "renamed to 'SyntheticPersonCaptionDataset'"):
        ds = DATASETS.build(cfg)
    assert type(ds) is datasets.RSTPReidDataset
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # a second build does not warn
        again = DATASETS.build(cfg)
    assert again.get_data_info(0) == ds.get_data_info(0)


def test_old_import_name_warns_once(fresh):
    with pytest.warns(FutureWarning, match="'CUHKPEDES' was renamed to "
                      "'CUHKPEDESDataset'"):
        from sdtr.datasets import CUHKPEDES
    assert CUHKPEDES is datasets.CUHKPEDESDataset
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert datasets.CUHKPEDES is datasets.CUHKPEDESDataset
    with pytest.raises(AttributeError, match='NoSuchDataset'):
        datasets.NoSuchDataset
