"""tools/slurm_{train,test,submit}.sh build their srun/sbatch requests from
mmpretrain's variables (GPUS, GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS) plus
DEVICE and GPU_REQUEST, and refuse up front what cannot fit the partition's
nodes as sinfo reports them.  srun, sbatch and sinfo are replaced by scripts
that print their arguments (sinfo: the nodes a test gives it)."""
import os
import subprocess

import pytest

from .conftest import REPO

FAKE = '''#!/usr/bin/env bash
printf "%s\\n" "$@"
echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"
'''


@pytest.fixture
def slurm(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for tool in ('srun', 'sbatch'):
        (bin_dir / tool).write_text(FAKE)
        (bin_dir / tool).chmod(0o755)

    def run(script, *args, nodes='node1 64 gpu:8', **env_extra):
        # nodes: what `sinfo -h -N -p P -o '%N %c %G'` prints; None: sinfo
        # fails (not allowed on this host, no controller)
        (bin_dir / 'sinfo').write_text(
            '#!/usr/bin/env bash\nexit 1\n' if nodes is None else
            f'#!/usr/bin/env bash\ncat <<"EOF"\n{nodes}\nEOF\n')
        (bin_dir / 'sinfo').chmod(0o755)
        env = {k: v for k, v in os.environ.items()
               if k not in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK',
                            'DEVICE', 'GPU_REQUEST', 'SRUN_ARGS',
                            'SBATCH_ARGS', 'SLURM_JOB_ID', 'MASTER_PORT',
                            'CUDA_VISIBLE_DEVICES', 'SDTR_SLURM_BATCH')}
        env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'
        env.update(env_extra)
        proc = subprocess.run(
            ['bash', str(REPO / 'tools' / script), *args], env=env,
            capture_output=True, text=True, cwd=str(tmp_path))
        return proc.returncode, proc.stdout.splitlines(), proc.stderr
    return run


TRAIN = ('slurm_train.sh', 'part', 'job', 'cfg.py', 'work', '--amp')


def test_defaults_are_mmpretrains(slurm):
    rc, argv, _ = slurm(*TRAIN)
    assert rc == 0
    assert argv[:3] == ['-p', 'part', '--job-name=job']
    assert {'--ntasks=8', '--ntasks-per-node=8', '--cpus-per-task=5',
            '--gres=gpu:8', '--kill-on-bad-exit=1'} <= set(argv)
    assert argv[-4:-1] == ['--work-dir=work', '--launcher=slurm', '--amp']
    assert 'CUDA_VISIBLE_DEVICES=unset' in argv


def test_gpu_request_forms_and_cpu_jobs(slurm):
    rc, argv, _ = slurm(*TRAIN, GPU_REQUEST='gpus-per-node', GPUS='16',
                        nodes='a 64 gpu:8\nb 64 gpu:8')
    assert rc == 0 and '--gpus-per-node=8' in argv and '--ntasks=16' in argv
    assert not [a for a in argv if a.startswith('--gres')]
    # GPUS_PER_NODE=0: a CPU job (no GPU request, Slurm places the tasks,
    # GPUs hidden so that training picks gloo)
    rc, argv, _ = slurm(*TRAIN, GPUS='4', GPUS_PER_NODE='0',
                        CPUS_PER_TASK='2', nodes='cpu1 16 (null)')
    assert rc == 0 and {'--ntasks=4', '--cpus-per-task=2'} <= set(argv)
    assert not [a for a in argv if a.startswith(('--gres', '--gpus',
                                                 '--ntasks-per-node'))]
    assert 'CUDA_VISIBLE_DEVICES=' in argv
    # DEVICE=cpu keeps the tasks per node
    rc, argv, _ = slurm('slurm_test.sh', 'part', 'job', 'cfg.py', 'c.pth',
                        DEVICE='cpu', GPUS='2', GPUS_PER_NODE='2',
                        CPUS_PER_TASK='1', nodes='cpu1 2 (null)')
    assert rc == 0 and '--ntasks-per-node=2' in argv
    assert not [a for a in argv if a.startswith(('--gres', '--gpus'))]
    assert argv[-4:-1] == ['cfg.py', 'c.pth', '--launcher=slurm']


@pytest.mark.parametrize('env,nodes,message', [
    # the defaults (8 x 5 CPUs) on a 16-CPU node used to wait forever
    ({}, 'n1 16 gpu:8', '8 processes per node x CPUS_PER_TASK=5 = 40 CPUs, '
     'but the nodes of partition part have at most 16 CPUs'),
    # a GPU request on a CPU partition used to fail inside srun
    (dict(GPUS_PER_NODE='2', GPUS='2', CPUS_PER_TASK='1'), 'n1 8 (null)',
     'partition part has no GPUs (sinfo lists no gpu gres): for a CPU job '
     'set GPUS_PER_NODE=0 or DEVICE=cpu'),
    ({}, 'n1 64 gpu:a100:4(S:0-1),shard:8',
     'GPUS_PER_NODE=8, but the nodes of partition part have at most 4 GPUs'),
    (dict(GPUS='24'), 'n1 64 gpu:8\nn2 64 gpu:8',
     'GPUS=24 processes at 8 per node need 3 nodes, partition part has 2'),
    ({}, '', 'partition part has no nodes'),
    (dict(GPU_REQUEST='gpus'), 'n1 64 gpu:8', 'GPU_REQUEST=gpus: expected'),
    (dict(DEVICE='cuda', GPUS_PER_NODE='0'), 'n1 64 gpu:8',
     'DEVICE=cuda needs GPUS_PER_NODE > 0'),
    (dict(CPUS_PER_TASK='five'), 'n1 64 gpu:8', 'CPUS_PER_TASK=five'),
])
def test_requests_that_cannot_fit_are_refused(slurm, env, nodes, message):
    for script in (TRAIN, ('slurm_submit.sh', 'part', 'job', 'cfg.py',
                           'work')):
        rc, argv, err = slurm(*script, nodes=nodes, **env)
        assert rc == 2 and argv == [], (script, argv)
        assert message in err, err


def test_fitting_requests_and_unknown_partitions_go_through(slurm):
    # two 8-GPU nodes of 40 CPUs: 16 processes x 5 CPUs fit
    rc, argv, _ = slurm(*TRAIN, GPUS='16', nodes='a 40 gpu:8\nb 40 gpu:8')
    assert rc == 0 and '--ntasks=16' in argv
    # sinfo unavailable: nothing to check against
    rc, argv, _ = slurm(*TRAIN, nodes=None)
    assert rc == 0 and '--gres=gpu:8' in argv


def test_submit_is_a_requeueable_batch_job(slurm, tmp_path):
    rc, argv, _ = slurm('slurm_submit.sh', 'part', 'job', 'cfg.py', 'work',
                        '--amp', GPUS='2', GPUS_PER_NODE='0',
                        CPUS_PER_TASK='1', SIGNAL_LEAD='120',
                        SBATCH_ARGS='--time=1:00:00', nodes='n1 2 (null)')
    assert rc == 0
    assert {'--requeue', '--open-mode=append', '--signal=B:USR1@120',
            '--output=work/slurm-%j.out', '--time=1:00:00', '--ntasks=2',
            '--cpus-per-task=1'} <= set(argv)
    assert f'--export=ALL,SDTR_SLURM_BATCH=1,SDTR_ROOT={REPO}' in argv
    script = argv.index(str(REPO / 'tools' / 'slurm_submit.sh'))
    assert argv[script + 1:script + 6] == ['part', 'job', 'cfg.py', 'work',
                                           '--amp']
    assert (tmp_path / 'work').is_dir()  # sbatch writes its log there
