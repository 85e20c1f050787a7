"""model_zoo.md / model-index.yml are generated from the metafiles and the
checked-in copies are up to date."""
import importlib.util

import pytest

from .conftest import REPO


def _gen():
    spec = importlib.util.spec_from_file_location(
        'gen_model_zoo', REPO / 'tools/misc/gen_model_zoo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_checked_in_zoo_files_are_up_to_date(capsys):
    gen = _gen()
    rc = gen.main(['--check'])
    out = capsys.readouterr().out
    assert rc == 0, ('model_zoo.md / model-index.yml are stale: run python '
                     'tools/misc/gen_model_zoo.py\n' + out)
    index = (REPO / 'model-index.yml').read_text()
    for meta in REPO.glob('configs/*/metafile.yml'):
        assert str(meta.relative_to(REPO)) in index


def _fake_repo(tmp_path, params='', weights='null'):
    base = REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py'
    cfg_dir = tmp_path / 'configs' / 'tiny'
    cfg_dir.mkdir(parents=True)
    (cfg_dir / 'tiny_1xb32_rsitmd.py').write_text(
        f'_base_ = [{str(base)!r}]\n')
    (cfg_dir / 'metafile.yml').write_text(f'''
Collections:
  - Name: Tiny
    README: configs/tiny/README.md
Models:
  - Name: tiny_1xb32_rsitmd
    In Collection: Tiny
    Config: configs/tiny/tiny_1xb32_rsitmd.py
    Metadata: {{Training Data: RSITMD{params}}}
    Results:
      - Task: Image-Text Retrieval
        Dataset: RSITMD
        Metrics: {{i2t_R@1: 1.5, i2t_R@5: 2, i2t_R@10: 3, t2i_R@1: 4,
                   t2i_R@5: 5, t2i_R@10: 6, mR: 3.58}}
        Source: paper-reported, Some Paper Table 9
      - Task: Image-Text Retrieval
        Dataset: RSITMD
        Metrics: {{mR: 2.0}}
        Source: ours, 1 run on 8 GPUs
      - Task: Text-To-Image Retrieval
        Dataset: CUHK-PEDES
        Metrics: {{R@1: 10, R@5: 20, R@10: 30, mAP: 7}}
        Source: paper-reported, Other Table 2
    Weights: {weights}
''')
    return tmp_path


def test_generated_tables(tmp_path):
    gen = _gen()
    repo = _fake_repo(tmp_path)
    assert gen.main(['--repo', str(repo)]) == 0
    index = (repo / 'model-index.yml').read_text()
    assert 'Import:\n  - configs/tiny/metafile.yml\n' in index
    zoo = (repo / 'model_zoo.md').read_text()
    rsitr = zoo.split('## Remote-sensing')[1].split('## Text-based')[0]
    row = [ln for ln in rsitr.splitlines() if 'RSITMD' in ln][0]
    assert '[tiny_1xb32_rsitmd.py](configs/tiny/tiny_1xb32_rsitmd.py)' in row
    assert ('i2t R@1/5/10 1.50 / 2.00 / 3.00; t2i R@1/5/10 4.00 / 5.00 / '
            '6.00; mR 3.58 (Some Paper Table 9)') in row
    assert 'mR 2.00 (ours, 1 run on 8 GPUs)' in row
    assert 'not published' in row
    n = gen.count_parameters(str(repo / 'configs/tiny/tiny_1xb32_rsitmd.py'))
    assert n > 10**6 and f'| {n / 1e6:.1f}M |' in row  # from the config
    assert 'No config of the zoo covers RSICD, RET-2, RET-3 yet.' in rsitr
    person = zoo.split('## Text-based')[1]
    assert 'R@1/5/10 10.00 / 20.00 / 30.00; mAP 7.00 (Other Table 2)' in \
        person
    assert gen.main(['--repo', str(repo), '--check']) == 0
    # a metafile edit makes the checked-in files stale
    meta = repo / 'configs/tiny/metafile.yml'
    meta.write_text(meta.read_text().replace('mR: 2.0', 'mR: 2.5'))
    assert gen.main(['--repo', str(repo), '--check']) == 1


def test_wrong_parameter_count_is_an_error(tmp_path):
    gen = _gen()
    repo = _fake_repo(tmp_path, params=', Parameters: 123')
    with pytest.raises(RuntimeError, match='states Parameters: 123'):
        gen.main(['--repo', str(repo)])


def test_published_weights_are_linked(tmp_path):
    gen = _gen()
    url = 'https://example.invalid/tiny_1xb32_rsitmd_20250101-0123abcd.pth'
    sha = '0123abcd' * 8
    repo = _fake_repo(tmp_path, weights=f'{url}\n    Weights SHA256: {sha}')
    gen.main(['--repo', str(repo)])
    assert f'[download]({url})' in (repo / 'model_zoo.md').read_text()


def test_parameters_of_configs_needing_local_bert_files(tmp_path):
    """A full-size PIR-ITR config reads BERT-base from data/pretrained/:
    without the folder, the count uses BERT-base's architecture.  BERT-base
    without pooler, by hand: embeddings 30522*768 + 512*768 + 2*768 + 2*768
    = 23,837,184; 12 layers of 4*(768*768+768) + 2*768 + (768*3072+3072) +
    (3072*768+768) + 2*768 = 7,087,872 each."""
    gen = _gen()
    cfg = tmp_path / 'bert.py'
    cfg.write_text("model = dict(type='BertTextEncoder', "
                   "model_dir='data/pretrained/bert-base-uncased')\n")
    assert gen.count_parameters(str(cfg)) == 23_837_184 + 12 * 7_087_872
    cfg.write_text("model = dict(type='BertTextEncoder', "
                   "model_dir='data/pretrained/my-own-bert')\n")
    with pytest.raises(RuntimeError, match='bert.py.*my-own-bert'):
        gen.count_parameters(str(cfg))


def test_parameters_on_meta_match_a_real_build():
    """Swin's constructor calls .item() on a tensor and EKLSR checks its
    preprocessor buffers: they build with only the parameters on meta, and
    the count equals a normal build's."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from sdtr.registry import MODELS
    gen = _gen()
    config = (REPO / 'configs/pir_itr/'
              'pir-itr_swin-tiny-minilm_1xb32_synthetic-rs.py')
    counted = gen.count_parameters(str(config))
    with DefaultScope.overwrite_default_scope('sdtr'):
        model = MODELS.build(Config.fromfile(str(config)).model)
    assert counted == sum(p.numel() for p in model.parameters())
    with gen.parameters_on_meta():
        layer = torch.nn.Linear(3, 2)
    assert layer.weight.is_meta and layer.bias.is_meta
    assert not torch.nn.Linear(3, 2).weight.is_meta  # restored
    assert gen.count_parameters(str(
        REPO / 'configs/eklsr/eklsr_tiny_1xb32_synthetic-person.py')) > 10**7
def test_published_weights_need_a_recorded_sha256(tmp_path):
    gen = _gen()
    url = 'https://example.invalid/tiny_1xb32_rsitmd_20250101-0123abcd.pth'
    repo = _fake_repo(tmp_path, weights=url)
    with pytest.raises(RuntimeError, match='without "Weights SHA256"'):
        gen.main(['--repo', str(repo)])
