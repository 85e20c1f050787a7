"""One naming scheme for config files (docs/architecture.md, "Naming"),
zoo names equal to config names, and old names that keep working."""
import re
import warnings
from pathlib import Path

import pytest
import yaml

from sdtr.apis.model_zoo import get_model_info, list_models
from sdtr.utils import load_config
from sdtr.utils.renamed_configs import (RENAMED_CONFIGS, renamed_model_name,
                                        resolve_config_path)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = REPO / 'configs'
INDEX = str(REPO / 'model-index.yml')
WORD = r'[a-z0-9]+(?:-[a-z0-9]+)*'
#: {method}[-variant]_{backbone}_{N}xb{B}_{dataset}[-split].py
LEAF = re.compile(rf'^(?P<method>{WORD})_(?P<backbone>{WORD})_'
                  rf'(?P<gpus>\d+)xb(?P<batch>\d+)_(?P<data>{WORD})\.py$')
BASE = re.compile(r'^[a-z0-9]+(?:[_-][a-z0-9]+)*\.py$')


def leaves():
    return sorted(p for p in CONFIGS.glob('**/*.py')
                  if '_base_' not in p.relative_to(CONFIGS).parts)


def test_every_config_file_follows_the_scheme():
    bad = [str(p.relative_to(REPO)) for p in leaves()
           if not LEAF.match(p.name)]
    assert not bad, f'config names outside the scheme: {bad}'
    # one folder per method (or quickstart); ablations one level below
    for p in leaves():
        parts = p.relative_to(CONFIGS).parts
        assert len(parts) in (2, 3), p
        if len(parts) == 3:
            assert parts[1] == 'ablations', p
    # bases: lower case, words joined by _ or -
    bases = [p for p in (CONFIGS / '_base_').glob('**/*.py')]
    assert bases and all(BASE.match(p.name) for p in bases)


def test_the_scheme_refuses_malformed_names():
    for name in ('m_b_1xb1_d_extra.py', 'm_b_zeroshot_d.py', 'm_b_1x1_d.py',
                 'M_b_1xb1_d.py', 'm__b_1xb1_d.py', 'm_b_1xb1_d.yaml'):
        assert not LEAF.match(name), name
    assert LEAF.match('m-v1-v2_b-c_8xb64_d-split.py')


def old_name_of(new_rel):
    """The old path (relative to configs/) of a renamed config."""
    (old,) = [o for o, n in RENAMED_CONFIGS.items() if n == new_rel]
    return old


def test_zoo_names_are_the_config_names():
    for metafile in CONFIGS.glob('*/metafile.yml'):
        for entry in yaml.safe_load(metafile.read_text())['Models']:
            config = REPO / entry['Config']
            assert config.is_file(), entry['Config']
            assert entry['Name'] == config.stem, entry['Name']


def test_renamed_table_points_from_gone_files_to_existing_ones():
    assert len(RENAMED_CONFIGS) >= 60
    for old, new in RENAMED_CONFIGS.items():
        assert not (CONFIGS / old).exists(), old
        assert (CONFIGS / new).is_file(), new
        assert LEAF.match(Path(new).name), new


def test_old_zoo_name_finds_the_renamed_model():
    new = 'eklsr-baseline_vit-b16_1xb128_rsitmd-galr'
    old = Path(old_name_of(f'eklsr/ablations/{new}.py')).stem
    assert old != new
    assert old not in list_models(index=INDEX)
    with pytest.warns(FutureWarning, match=f"(?i)'{old}' was renamed to "
                      f"'{new}'"):
        info = get_model_info(old.upper(), index=INDEX)  # case-insensitive
    assert info.name == new
    assert Path(info.config) == CONFIGS / (
        'eklsr/ablations/' + new + '.py')
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # the current name does not warn
        assert get_model_info(new, index=INDEX) is not None
        assert renamed_model_name(new) is None


def test_old_config_path_loads_the_renamed_file():
    new = 'pir_itr/ablations/pir-itr-s-pae-al_swin-t-bert_2xb128_rsitmd-pir.py'
    old = 'configs/' + old_name_of(new)
    new = 'configs/' + new
    with pytest.warns(FutureWarning, match='renamed to'):
        assert resolve_config_path(str(REPO / old)) == str(REPO / new)
    with pytest.warns(FutureWarning):
        cfg = load_config(str(REPO / old))  # tools/test.py, print_config
    assert cfg.filename == str(REPO / new)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert resolve_config_path(str(REPO / new)) == str(REPO / new)
        assert resolve_config_path('no/such/file.py') == 'no/such/file.py'
