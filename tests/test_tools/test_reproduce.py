"""``sdtr reproduce``: tables read from the zoo metafiles, the commands of
every table, and one tiny stand-in table run end to end (train, test,
collect, markdown/CSV/PNG), then skipped on the second call."""
import csv
import json
import os.path as osp
import subprocess

import pytest
import yaml

from sdtr.tools import reproduce as rep

from .conftest import REPO

INDEX = str(REPO / 'model-index.yml')


def test_sources_name_their_tables():
    assert rep.parse_source('paper-reported, PIR Table II') == [
        ('pir:table2', '')]
    assert rep.parse_source(
        'paper-reported, PIR Tables II (CLIP-FT) and III (CLIP-baseline)'
    ) == [('pir:table2', 'CLIP-FT'), ('pir:table3', 'CLIP-baseline')]
    assert rep.parse_source(
        'paper-reported, PIR Tables I, III (+S-PAE+T-PAE+AL), IV (K=40, '
        'hard) and V') == [('pir:table1', ''),
                           ('pir:table3', '+S-PAE+T-PAE+AL'),
                           ('pir:table4', 'K=40, hard'), ('pir:table5', '')]
    assert rep.parse_source('paper-reported, VFE-TPS Tables 1, 5 and 6') == [
        ('vfe_tps:table1', ''), ('vfe_tps:table5', ''),
        ('vfe_tps:table6', '')]
    assert rep.parse_source("ours, tools/train.py (12 epochs)") == []
    with pytest.raises(ValueError, match='table list'):
        rep.parse_source('paper-reported, PIR Table Z')


def test_every_paper_number_of_the_zoo_is_in_a_table():
    tables = rep.load_tables(INDEX)
    assert {'pir:table1', 'pir:table2', 'pir:table3', 'pir:table4',
            'pir:table5', 'eklsr:table1', 'eklsr:table5', 'eklsr:table6',
            'vfe_tps:table1', 'vfe_tps:table5',
            'vfe_tps:table6'} <= set(tables)
    expected = 0
    for meta in sorted((REPO / 'configs').glob('*/metafile.yml')):
        for model in yaml.safe_load(meta.read_text())['Models']:
            for res in model.get('Results') or []:
                expected += len(rep.parse_source(res.get('Source', '')))
    assert sum(map(len, tables.values())) == expected
    # PIR Table I has its 6 methods on both datasets
    t1 = tables['pir:table1']
    assert len(t1) == 12 and {r.dataset for r in t1} == {'RSICD', 'RSITMD'}
    # RET-2's RSICD cell is tested with its own test config
    ret2 = [r for r in tables['pir:table2']
            if r.name == 'pir-clip_vit-b32-rn50_8xb64_ret2']
    assert {r.dataset: osp.basename(r.test_config or r.config)
            for r in ret2} == {
        'RSICD': 'pir-clip_vit-b32-rn50_8xb64_ret2-rsicd.py',
        'RSITMD': 'pir-clip_vit-b32-rn50_8xb64_ret2.py'}


def test_dry_run_prints_the_commands_of_every_table(capsys):
    assert rep.main(['--dry-run', '--index', INDEX, '--gpus', '2',
                     '--work-root', 'wd']) == 0
    out = capsys.readouterr().out
    tables = rep.load_tables(INDEX)
    for key in tables:
        assert f'== {key}:' in out
    cmds = [line for line in out.splitlines() if not line.startswith('==')]
    assert sum('tools/test.py' in c for c in cmds) == sum(
        map(len, tables.values()))
    # training runs through torchrun; zero-shot rows convert the weights
    assert 'torchrun --nproc_per_node=2' in out
    assert ('model_converters/openclip_to_sdtr.py ' + str(
        REPO / 'configs/pir_clip/ablations/'
        'clip-zeroshot_vit-b32_1xb64_rsicd-karpathy.py') +
        ' openclip:ViT-B-32/openai wd/clip-zeroshot_vit-b32_1xb64_rsicd-'
        'karpathy/init.pth') in out
    assert "pir-clip_vit-b32-rn50_8xb64_ret2-rsicd.py 'wd/pir-clip_vit-b32-" \
        "rn50_8xb64_ret2/best_*.pth'" in out


def test_slurm_submits_the_slurm_scripts(capsys):
    assert rep.main(['vfe_tps:table2', '--dry-run', '--index', INDEX,
                     '--slurm', 'gpu']) == 0
    out = capsys.readouterr().out
    assert 'tools/slurm_train.sh gpu vfe-tps_vit-b16_1xb100_icfgpedes' in out
    assert 'tools/slurm_test.sh gpu vfe-tps_vit-b16_1xb100_icfgpedes' in out
    # ICFG-PEDES has no val split: the last epoch is tested
    assert 'vfe-tps_vit-b16_1xb100_icfgpedes/epoch_60.pth' in out
    assert rep.main(['no:table9', '--index', INDEX]) == 2


def _stand_in_table(tmp_path):
    """A tiny config (1 epoch, 16 captions) in a one-row paper table."""
    cfg = tmp_path / 'tiny_1xb8_synthetic-rs.py'
    cfg.write_text(f'''
_base_ = [{str(REPO / 'configs/quickstart/clip_tiny_1xb32_synthetic-rs.py')!r}]
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = dict(warmup_iters=1)
default_hooks = dict(logger=dict(interval=1))
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(indices=16))
val_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                      dataset=dict(indices=10))
test_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                       dataset=dict(indices=10))
''')
    meta = tmp_path / 'metafile.yml'
    meta.write_text(yaml.safe_dump(dict(Models=[dict(
        Name='tiny_1xb8_synthetic-rs', Config=cfg.name,
        Results=[dict(Task='Image-Text Retrieval', Dataset='Synthetic-RS',
                      Metrics={'i2t_R@1': 10.0, 'mR': 50.0},
                      Source='paper-reported, TINY Table 1 (stand-in)')],
        Weights=None)])))
    return str(meta)


def test_a_stand_in_table_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('PYTHONPATH', str(REPO))
    monkeypatch.setenv('OMP_NUM_THREADS', '1')
    monkeypatch.setenv('SDTR_CACHE', str(tmp_path / 'cache'))
    index = _stand_in_table(tmp_path)
    runs, out_dir = tmp_path / 'runs', tmp_path / 'tables'
    argv = ['tiny:table1', '--index', index, '--work-root', str(runs),
            '--out-dir', str(out_dir)]
    assert rep.main(argv) == 0
    work = runs / 'tiny_1xb8_synthetic-rs'
    measured = json.loads((work / 'test_synthetic-rs.json').read_text())
    assert (work / 'epoch_1.pth').is_file()
    md = (out_dir / 'tiny_table1.md').read_text()
    rows = list(csv.DictReader(open(out_dir / 'tiny_table1.csv')))
    assert [r['metric'] for r in rows] == ['i2t_R@1', 'mR']
    for r in rows:
        got = measured[f'rsitr/{r["metric"]}']
        assert float(r['measured']) == pytest.approx(got)
        assert float(r['difference']) == pytest.approx(
            got - float(r['paper']))
        assert f'{float(r["paper"]):.2f} / {got:.2f} (' \
            f'{got - float(r["paper"]):+.2f})' in md
    assert 'tiny_1xb8_synthetic-rs (stand-in)' in md
    png = (out_dir / 'tiny_table1.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'

    # a second call finds the finished run and starts nothing
    def refuse(*args, **kwargs):
        raise AssertionError(f'ran {args[0]}')
    monkeypatch.setattr(subprocess, 'run', refuse)
    capsys.readouterr()
    assert rep.main(argv) == 0
    out = capsys.readouterr().out
    assert 'test: done' in out and 'train: done' in out
    assert (out_dir / 'tiny_table1.md').read_text() == md


def test_an_interrupted_run_resumes(tmp_path):
    index = _stand_in_table(tmp_path)
    row = rep.load_tables(index)['tiny:table1'][0]
    work = tmp_path / 'runs' / row.name
    work.mkdir(parents=True)
    (work / 'epoch_0.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_0.pth'))
    train, test = rep.plan_row(row, str(tmp_path / 'runs'))
    assert train.what == 'train' and '--resume' in train.cmd
    assert train.done is None
    assert test.cmd[-4:] == ['--work-dir', str(work / 'test_synthetic-rs'),
                             '--out', str(work / 'test_synthetic-rs.json')]


def test_the_sdtr_command_runs_it(capsys):
    from sdtr.cli import main
    assert main(['reproduce', '--list', '--index', INDEX]) == 0
    out = capsys.readouterr().out
    assert out.startswith('eklsr:table1: 4 rows (')
    assert 'pir:table2: 10 rows (' in out
