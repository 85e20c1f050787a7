"""tools/train.py and tools/test.py end to end, as subprocesses."""
import glob
import json
import os.path as osp

from .conftest import REPO, free_port, run_tool


def _train(config, work_dir, *extra):
    return run_tool(['tools/train.py', config, '--work-dir', work_dir,
                     *extra])


def test_train_then_test_rs(tiny_rs_config, tmp_path):
    work = str(tmp_path / 'work')
    proc = _train(tiny_rs_config, work)
    log = proc.stdout + proc.stderr
    assert 'rsitr/mR' in log
    ckpt = osp.join(work, 'iter_6.pth')
    assert osp.isfile(ckpt)
    best = glob.glob(osp.join(work, 'best_rsitr_mR_iter_*.pth'))
    assert best, 'best checkpoint (selected on val) missing'

    out = str(tmp_path / 'metrics.json')
    proc = run_tool(['tools/test.py', tiny_rs_config, ckpt, '--out', out])
    # as quiet as tools/train.py: a few set-up lines, then the metrics
    log = (proc.stdout + proc.stderr).splitlines()
    assert len(log) < 20, '\n'.join(log)
    assert not any('System environment' in ln or 'train_dataloader = ' in ln
                   for ln in log)
    metrics = json.load(open(out))
    keys = {'i2t_R@1', 'i2t_R@5', 'i2t_R@10', 't2i_R@1', 't2i_R@5',
            't2i_R@10', 'mR'}
    assert {k.split('/')[-1] for k in metrics} >= keys
    for v in metrics.values():
        assert 0.0 <= v <= 100.0
    six = [metrics[f'rsitr/{k}'] for k in sorted(keys - {'mR'})]
    assert abs(metrics['rsitr/mR'] - sum(six) / 6) < 1e-6


def test_resume_auto_continues(tiny_rs_config, tmp_path):
    work = str(tmp_path / 'work')
    _train(tiny_rs_config, work)
    proc = _train(tiny_rs_config, work, '--resume', '--cfg-options',
                  'train_cfg.max_iters=8', 'train_cfg.val_interval=8')
    log = proc.stdout + proc.stderr
    assert 'resumed epoch: 0, iter: 6' in log
    assert osp.isfile(osp.join(work, 'iter_8.pth'))
    # resume from an explicit path as well
    proc = _train(tiny_rs_config, str(tmp_path / 'w2'), '--resume',
                  osp.join(work, 'iter_6.pth'), '--cfg-options',
                  'train_cfg.max_iters=7', 'train_cfg.val_interval=7')
    assert 'resumed epoch: 0, iter: 6' in proc.stdout + proc.stderr


def test_person_train_test_and_two_rank_equality(tiny_person_config,
                                                 tmp_path):
    """1 process and 2 gloo processes (torchrun) give identical metrics;
    21 gallery images over 2 ranks means the sampler pads a duplicate."""
    work = str(tmp_path / 'work')
    _train(tiny_person_config, work)
    ckpt = osp.join(work, 'iter_6.pth')
    out1 = str(tmp_path / 'm1.json')
    run_tool(['tools/test.py', tiny_person_config, ckpt, '--out', out1])
    out2 = str(tmp_path / 'm2.json')
    run_tool(['-m', 'torch.distributed.run', '--nproc_per_node', '2',
              '--master_port', str(free_port()), 'tools/test.py',
              tiny_person_config, ckpt, '--out', out2, '--launcher',
              'pytorch'])
    m1, m2 = json.load(open(out1)), json.load(open(out2))
    assert set(m1) >= {'person/R@1', 'person/R@5', 'person/R@10',
                       'person/mAP', 'person/mINP'}
    assert m1 == m2


def test_two_rank_training_runs(tiny_rs_config, tmp_path):
    """Through tools/dist_train.sh as the README runs it, while torchrun's
    old default port 29500 is taken (the script picks a free port)."""
    import os
    import socket
    import subprocess
    import sys
    work = str(tmp_path / 'work')
    busy = socket.socket()
    try:
        busy.bind(('127.0.0.1', 29500))
        busy.listen()
    except OSError:
        pass  # already taken by someone else: just as good
    env = {k: v for k, v in os.environ.items()
           if k not in ('PORT', 'MASTER_PORT')}
    env['PATH'] = os.path.dirname(sys.executable) + os.pathsep + env['PATH']
    env.setdefault('OMP_NUM_THREADS', '1')
    try:
        proc = subprocess.run(
            ['bash', 'tools/dist_train.sh', tiny_rs_config, '2',
             '--work-dir', work, '--cfg-options', 'train_cfg.max_iters=4',
             'train_cfg.val_interval=4'], cwd=str(REPO), env=env,
            capture_output=True, text=True, timeout=600)
    finally:
        busy.close()
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert osp.isfile(osp.join(work, 'iter_4.pth'))
    assert 'rsitr/mR' in proc.stdout + proc.stderr


def test_print_config(tiny_rs_config):
    proc = run_tool(['tools/misc/print_config.py', tiny_rs_config])
    assert "default_scope = 'sdtr'" in proc.stdout
    assert 'CLIPRetriever' in proc.stdout
