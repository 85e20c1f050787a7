"""Registered retrieval metrics: process/evaluate on 1 process and on 2 gloo
processes with a padded distributed split."""
import os
import pickle
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample

from sdtr.evaluation import (PersonSearchMetric, RSITRRecall,
                             person_search_metrics_from_features,
                             rsitr_recall_from_features)
from sdtr.registry import METRICS

N_IMG, D = 7, 6
CAPS = [2, 1, 3, 2, 1, 2, 3]  # captions per image
PIDS = [0, 0, 1, 2, 2, 2, 3]  # several images per identity


def make_items(as_dict=False, seed=0):
    gen = torch.Generator().manual_seed(seed)
    img = torch.round(torch.randn(N_IMG, D, generator=gen) * 4) / 4
    n_t = sum(CAPS)
    txt = torch.round(torch.randn(n_t, D, generator=gen) * 4) / 4
    # caption ids are a permutation, not contiguous per image
    perm = torch.randperm(n_t, generator=gen)
    items, off = [], 0
    for i, n in enumerate(CAPS):
        ids = perm[off:off + n].tolist()
        off += n
        meta = dict(sample_idx=i, image_id=i, pid=PIDS[i], text_ids=ids,
                    text_pids=[PIDS[i]] * n, texts=['a'] * n)
        feats = dict(img_feat=img[i], text_feats=txt[ids])
        if as_dict:
            items.append({**meta, **feats})
        else:
            s = DataSample(metainfo=meta)
            s.set_field(feats['img_feat'], 'img_feat')
            s.set_field(feats['text_feats'], 'text_feats')
            items.append(s)
    # reference (canonical) arrays
    txt2img = torch.empty(n_t, dtype=torch.long)
    off = 0
    for i, n in enumerate(CAPS):
        txt2img[perm[off:off + n]] = i
        off += n
    return items, img, txt, txt2img


def expected_results():
    _, img, txt, txt2img = make_items()
    pids = torch.tensor(PIDS)
    rs = {f'rsitr/{k}': v
          for k, v in rsitr_recall_from_features(img, txt, txt2img).items()}
    ps = {f'person/{k}': v for k, v in person_search_metrics_from_features(
        txt, img, pids[txt2img], pids).items()}
    assert ps['person/mR'] == pytest.approx(
        (ps['person/R@1'] + ps['person/R@5'] + ps['person/R@10']) / 3)
    ps.update({f'person/i2t_{k}': v
               for k, v in person_search_metrics_from_features(
                   img, txt, pids, pids[txt2img]).items()})
    assert 'person/i2t_mR' in ps
    return rs, ps


def run_metrics(items, size, batch=2):
    out = {}
    for name, metric in [('rsitr', RSITRRecall(chunk_size=(2, 3))),
                         ('person', PersonSearchMetric(i2t=True,
                                                       chunk_size=(3, 2)))]:
        for b in range(0, len(items), batch):
            metric.process({}, items[b:b + batch])
        out[name] = metric.evaluate(size)
    return out


@pytest.mark.parametrize('as_dict', [False, True])
def test_single_process_matches_functional(as_dict):
    items, *_ = make_items(as_dict)
    rs, ps = expected_results()
    out = run_metrics(items[::-1], N_IMG)  # order does not matter
    assert out['rsitr'] == rs
    assert out['person'] == ps
    assert list(out['rsitr']) == [
        'rsitr/i2t_R@1', 'rsitr/i2t_R@5', 'rsitr/i2t_R@10', 'rsitr/t2i_R@1',
        'rsitr/t2i_R@5', 'rsitr/t2i_R@10', 'rsitr/mR'
    ]
    assert list(out['person'])[:6] == [
        'person/R@1', 'person/R@5', 'person/R@10', 'person/mAP', 'person/mINP',
        'person/mR'
    ]


def test_registry_build_and_options():
    with DefaultScope.overwrite_default_scope('sdtr'):
        m = METRICS.build(dict(type='RSITRRecall', topk=(1, 3), prefix='x'))
        p = METRICS.build(dict(type='PersonSearchMetric'))
    assert isinstance(m, RSITRRecall) and isinstance(p, PersonSearchMetric)
    items, img, txt, txt2img = make_items()
    m.process({}, items)
    out = m.evaluate(N_IMG)
    assert list(out) == ['x/i2t_R@1', 'x/i2t_R@3', 'x/t2i_R@1', 'x/t2i_R@3',
                         'x/mR']
    p.process({}, items)
    assert 'person/i2t_R@1' not in p.evaluate(N_IMG)


def test_person_mean_recall_hand_example_and_selectable(tmp_path):
    # 3 captions, 4 images (one per identity; image 2 has no caption);
    # the relevant image is at rank 0 for q0, 1 for q1, 3 for q2
    img = torch.eye(4)
    txt = torch.tensor([[1., .1, .2, .3],     # pid 0 first
                        [.5, .4, .1, .0],     # pid 1 second
                        [.9, .8, .7, .1]])    # pid 3 last
    items = []
    for i, pid in enumerate([0, 1, 2, 3]):
        caps = [c for c, p in enumerate([0, 1, 3]) if p == pid]
        s = DataSample(metainfo=dict(image_id=i, pid=pid, text_ids=caps,
                                     text_pids=[pid] * len(caps),
                                     sample_idx=i))
        s.set_field(img[i], 'img_feat')
        s.set_field(txt[caps], 'text_feats')
        items.append(s)
    metric = PersonSearchMetric(topk=(1, 2, 4))
    metric.process({}, items)
    out = metric.evaluate(4)
    # R@1 = 1/3, R@2 = 2/3, R@4 = 3/3 -> mR = (33.33 + 66.67 + 100) / 3
    assert out['person/R@1'] == pytest.approx(100 / 3)
    assert out['person/R@2'] == pytest.approx(200 / 3)
    assert out['person/mR'] == pytest.approx(200 / 3)
    # EKLSR Table 2 (CUHK-PEDES): mR 83.00 = mean(69.62, 87.34, 92.05)
    assert round((69.62 + 87.34 + 92.05) / 3, 2) == 83.00
    # selectable: mmengine's CheckpointHook finds it in the metrics
    from mmengine.hooks import CheckpointHook
    hook = CheckpointHook(save_best='person/mR', rule='greater')
    assert hook.rules == ['greater'] and hook.key_indicators == ['person/mR']


def test_padding_duplicates_are_dropped():
    items, *_ = make_items()
    rs, ps = expected_results()
    out = run_metrics(items + items[:3], N_IMG)
    assert out['rsitr'] == rs and out['person'] == ps


def test_incomplete_or_inconsistent_inputs():
    items, *_ = make_items()
    m = RSITRRecall()
    m.process({}, items[:-1])
    with pytest.raises(ValueError, match='1 missing'):
        m.evaluate(N_IMG)
    assert m.results == []  # cleared even on error
    m.process({}, items)
    with pytest.raises(ValueError, match='unexpected'):
        m.evaluate(N_IMG - 1)
    # a caption id seen twice (on two different images)
    bad = make_items(as_dict=True)[0]
    bad[1] = dict(bad[1], text_ids=[bad[0]['text_ids'][0]])
    m.process({}, bad)
    with pytest.raises(ValueError, match='exactly once'):
        m.evaluate(N_IMG)
    # the same sample twice with different captions
    dup = make_items(as_dict=True)[0]
    dup.append(dict(dup[0], text_ids=dup[1]['text_ids'] + [0],
                    text_feats=torch.zeros(len(dup[1]['text_ids']) + 1, D)))
    m.process({}, dup)
    with pytest.raises(ValueError, match='evaluated twice'):
        m.evaluate(N_IMG)
    # missing fields / wrong shapes
    with pytest.raises(KeyError, match='img_feat'):
        m.process({}, [dict(sample_idx=0, text_ids=[0])])
    with pytest.raises(ValueError, match='text_feats'):
        m.process({}, [dict(sample_idx=0, text_ids=[0, 1],
                            img_feat=torch.zeros(D),
                            text_feats=torch.zeros(1, D))])
    with pytest.raises(KeyError, match='pid'):
        PersonSearchMetric().process({}, [dict(
            sample_idx=0, text_ids=[0], img_feat=torch.zeros(D),
            text_feats=torch.zeros(1, D))])


def test_rsitr_metric_without_pids_and_image_without_caption():
    items = make_items(as_dict=True)[0]
    for it in items:
        it.pop('pid')
        it.pop('text_pids')
    m = RSITRRecall()
    m.process({}, items)
    assert m.evaluate(N_IMG) == expected_results()[0]
    items[2] = dict(items[2], text_ids=[], text_feats=torch.zeros(0, D))
    # caption ids are then incomplete, reported before the empty image
    m.process({}, items)
    with pytest.raises(ValueError):
        m.evaluate(N_IMG)


# --------------------------------------------------------------------------
# two gloo processes
# --------------------------------------------------------------------------
def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _dist_worker(rank, world, port, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world)
    try:
        items, *_ = make_items()
        # DefaultSampler-like split: pad to a multiple of world, then stride;
        # 7 items on 2 ranks -> rank 1 also receives item 0 again
        idx = list(range(len(items)))
        idx += idx[:(-len(idx)) % world]
        mine = [items[i] for i in idx[rank::world]]
        out = run_metrics(mine, len(items))
        # an incomplete gallery fails on every rank (no hang)
        metric = RSITRRecall()
        metric.process({}, mine[1:] if rank == 1 else mine)
        try:
            metric.evaluate(len(items))
        except Exception as e:  # noqa: BLE001
            out['error'] = (type(e).__name__, 'missing' in str(e))
        with open(os.path.join(out_dir, f'rank{rank}.pkl'), 'wb') as f:
            pickle.dump(out, f)
    finally:
        dist.destroy_process_group()


def test_two_gloo_processes_identical_to_one(tmp_path):
    items, *_ = make_items()
    single = run_metrics(items, N_IMG)
    mp.spawn(_dist_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2,
             join=True)
    for rank in range(2):
        with open(tmp_path / f'rank{rank}.pkl', 'rb') as f:
            out = pickle.load(f)
        error = out.pop('error')
        assert out == single
        assert error == ('ValueError' if rank == 0 else 'RuntimeError', True)
