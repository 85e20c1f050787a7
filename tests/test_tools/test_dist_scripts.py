"""tools/dist_train.sh and dist_test.sh: on one machine torchrun picks a free
port (--standalone), PORT/MASTER_PORT fix it, multi-node keeps the agreed
port.  torchrun is replaced by a script that prints its arguments."""
import os
import subprocess

import pytest

from .conftest import REPO


@pytest.fixture
def fake_torchrun(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    script = bin_dir / 'torchrun'
    script.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n')
    script.chmod(0o755)

    def run(tool, *args, **env_extra):
        env = {k: v for k, v in os.environ.items()
               if k not in ('PORT', 'MASTER_PORT', 'NNODES', 'NODE_RANK',
                            'MASTER_ADDR')}
        env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'
        env.update(env_extra)
        proc = subprocess.run(['bash', str(REPO / 'tools' / tool), *args],
                              env=env, capture_output=True, text=True,
                              check=True)
        return proc.stdout.splitlines()
    return run


@pytest.mark.parametrize('tool,args', [
    ('dist_train.sh', ['cfg.py', '8', '--amp']),
    ('dist_test.sh', ['cfg.py', 'ckpt.pth', '8', '--out', 'm.json']),
])
def test_single_node_picks_a_free_port(fake_torchrun, tool, args):
    argv = fake_torchrun(tool, *args)
    assert '--standalone' in argv
    assert not [a for a in argv if a.startswith('--master_port')]
    assert '--nproc_per_node=8' in argv
    options = args[args.index('8') + 1:]
    assert argv[-len(options) - 2:] == ['--launcher', 'pytorch', *options]


@pytest.mark.parametrize('tool,args', [
    ('dist_train.sh', ['cfg.py', '2']),
    ('dist_test.sh', ['cfg.py', 'ckpt.pth', '2']),
])
def test_port_overrides_and_multi_node(fake_torchrun, tool, args):
    for env, port in ((dict(PORT='1234'), '1234'),
                      (dict(MASTER_PORT='2345'), '2345'),
                      (dict(PORT='1234', MASTER_PORT='2345'), '1234')):
        argv = fake_torchrun(tool, *args, **env)
        assert f'--master_port={port}' in argv and '--standalone' not in argv
    argv = fake_torchrun(tool, *args, NNODES='2', NODE_RANK='1',
                         MASTER_ADDR='host0')
    assert {'--nnodes=2', '--node_rank=1', '--master_addr=host0',
            '--master_port=29500'} <= set(argv)
    assert '--standalone' not in argv


def test_torchrun_args_and_unshared_rendezvous_store(tmp_path):
    """TORCHRUN_ARGS reaches torchrun (--max-restarts), and the rendezvous
    store is not shared with the workers unless asked, so that restarted
    workers never read the previous attempt's addresses."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    script = bin_dir / 'torchrun'
    script.write_text('#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n'
                      'echo "SHARE=$TORCH_DISABLE_SHARE_RDZV_TCP_STORE"\n')
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ('TORCH_DISABLE_SHARE_RDZV_TCP_STORE', 'PORT',
                        'MASTER_PORT', 'TORCHRUN_ARGS')}
    env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'

    def run(**extra):
        return subprocess.run(
            ['bash', str(REPO / 'tools' / 'dist_train.sh'), 'cfg.py', '2'],
            env=dict(env, **extra), capture_output=True, text=True,
            check=True).stdout.splitlines()

    argv = run(TORCHRUN_ARGS='--max-restarts=3 --monitor-interval=1')
    assert {'--max-restarts=3', '--monitor-interval=1'} <= set(argv)
    assert argv[-1] == 'SHARE=1'
    argv = run()
    assert not [a for a in argv if a.startswith('--max-restarts')]
    assert run(TORCH_DISABLE_SHARE_RDZV_TCP_STORE='0')[-1] == 'SHARE=0'
