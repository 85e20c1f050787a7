"""Under a real Slurm (a one-node cluster started in a temporary folder:
munged, slurmctld, slurmd with their own slurm.conf, stopped by PID at the
end), with 2 CPU tasks (gloo):

* tools/slurm_train.sh trains a tiny config as the README runs it, and
  tools/slurm_test.sh evaluates it;
* tools/slurm_submit.sh submits the same training as a batch job, the test
  sends it the preemption signal in the middle of training (``scancel
  --signal=USR1 --batch``, what ``--signal=B:USR1@N`` does before the time
  limit), training saves a checkpoint and stops, the job requeues itself,
  the requeued job resumes, and it ends with the weights of the
  uninterrupted run.

Skips, saying why, where Slurm is not installed (Debian: ``apt-get install
slurm-wlm munge``; .ci/run installs them) or does not start.
"""
import getpass
import json
import os
import os.path as osp
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from sdtr.checkpoint import open_checkpoint
from .conftest import REPO, free_port, write_tiny_epoch_config

DAEMONS = ('munged', 'slurmctld', 'slurmd')
CLIENTS = ('sbatch', 'srun', 'scontrol', 'scancel', 'sinfo', 'squeue')


def _which(name):
    return shutil.which(name) or next(
        (p for p in (f'/usr/sbin/{name}', f'/sbin/{name}')
         if os.access(p, os.X_OK)), None)


def _pid(path, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return int(open(path).read().strip())
        except (OSError, ValueError):
            time.sleep(0.2)
    return None


def _tail(path, lines=15):
    try:
        return '\n'.join(open(path, errors='replace').read().splitlines()
                         [-lines:])
    except OSError:
        return f'({path} not written)'


class Cluster:
    """One-node Slurm cluster in ``root`` (CPUs: this machine's, at least
    2); ``run`` calls its client commands."""

    def __init__(self, root):
        self.root = root
        self.pids = {}
        self.env = dict(os.environ, SLURM_CONF=str(root / 'slurm.conf'))
        for key in [k for k in self.env
                    if k.startswith(('SLURM_', 'SBATCH_', 'SRUN_'))
                    and k != 'SLURM_CONF']:
            del self.env[key]
        self.env['PATH'] = osp.dirname(sys.executable) + os.pathsep + \
            self.env['PATH']
        self.env.setdefault('OMP_NUM_THREADS', '1')

    def start(self):
        root, user = self.root, getpass.getuser()
        for sub in ('munge', 'state', 'spool', 'log'):
            (root / sub).mkdir()
        (root / 'munge').chmod(0o700)
        key = root / 'munge' / 'munge.key'
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        sock = root / 'munge' / 'sock'
        self._daemon('munged', [
            _which('munged'), '--force', f'--socket={sock}',
            f'--key-file={key}', f'--pid-file={root}/munge/pid',
            f'--log-file={root}/log/munged.log',
            f'--seed-file={root}/munge/seed'], root / 'munge' / 'pid',
            root / 'log' / 'munged.log')
        host = socket.gethostname().split('.')[0]
        cpus = max(2, os.cpu_count() or 2)
        (root / 'slurm.conf').write_text(f'''ClusterName=sdtrtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser={user}
SlurmdUser={user}
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
# cred_expire: also how long a requeued job waits before it may start
AuthInfo=socket={sock},cred_expire=5
CredType=cred/munge
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
MailProg=/bin/true
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MinJobAge=600
KillWait=30
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP
''')
        self._daemon('slurmctld', [_which('slurmctld'), '-i'],
                     root / 'slurmctld.pid', root / 'log' / 'slurmctld.log')
        self._daemon('slurmd', [_which('slurmd')], root / 'slurmd.pid',
                     root / 'log' / 'slurmd.log')
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = self.run('sinfo', '-h', '-o', '%T', check=False)
            if state.stdout.strip() == 'idle':
                return
            time.sleep(0.5)
        raise RuntimeError('the node did not become idle:\n' +
                           _tail(root / 'log' / 'slurmctld.log') + '\n' +
                           _tail(root / 'log' / 'slurmd.log'))

    def _daemon(self, name, argv, pid_file, log):
        proc = subprocess.run(argv, env=self.env, capture_output=True,
                              text=True, timeout=60)
        pid = _pid(pid_file) if proc.returncode == 0 else None
        if pid is None:
            raise RuntimeError(f'{name} did not start (rc {proc.returncode}'
                               f'): {proc.stderr.strip()}\n{_tail(log)}')
        self.pids[name] = pid

    def run(self, *argv, check=True, **env):
        proc = subprocess.run(argv, env=dict(self.env, **env), cwd=str(REPO),
                              capture_output=True, text=True, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(
                f'{argv} exited with {proc.returncode}\n'
                f'{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}')
        return proc

    def job(self, job_id):
        out = self.run('scontrol', 'show', 'job', str(job_id), check=False)
        return dict(re.findall(r'(\w+)=(\S*)', out.stdout))

    def stop(self):
        if 'slurmctld' in self.pids:
            self.run('scancel', '--user', getpass.getuser(), check=False)
        for name in reversed(DAEMONS):  # by PID, the ones started here
            pid = self.pids.pop(name, None)
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    missing = [n for n in DAEMONS + CLIENTS if _which(n) is None]
    if missing:
        pytest.skip(f'Slurm is not installed (missing {", ".join(missing)};'
                    ' Debian: apt-get install slurm-wlm munge, as .ci/run '
                    'does)')
    # short: the munge socket path must fit a UNIX socket name
    root = tmp_path_factory.mktemp('slurm')
    cluster = Cluster(root)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as err:
        cluster.stop()
        pytest.skip(f'a one-node Slurm cluster could not be started: {err}')
    yield cluster
    cluster.stop()


@pytest.fixture(scope='module')
def tiny_config(tmp_path_factory):
    return write_tiny_epoch_config(
        tmp_path_factory.mktemp('cfg') / 'tiny_slurm.py', 3)


CPU_JOB = dict(GPUS='2', GPUS_PER_NODE='0', CPUS_PER_TASK='1')


def _weights(work):
    return open_checkpoint(osp.join(work, 'epoch_3.pth')).obj['state_dict']


def test_real_sinfo_refuses_what_cannot_fit(cluster, tiny_config, tmp_path):
    """The partition has CPUs only, as many as this machine (at least 2)."""
    cpus = max(2, os.cpu_count() or 2)
    for env, message in (
            (dict(GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='1'),
             'partition cpu has no GPUs'),
            (dict(CPU_JOB, CPUS_PER_TASK=str(cpus)),
             f'2 processes per node x CPUS_PER_TASK={cpus} = {2 * cpus} '
             f'CPUs, but the nodes of partition cpu have at most {cpus}')):
        for script in ('slurm_train.sh', 'slurm_submit.sh'):
            proc = cluster.run('bash', f'tools/{script}', 'cpu', 'no',
                               tiny_config, str(tmp_path / 'no'), check=False,
                               **env)
            assert proc.returncode == 2 and message in proc.stderr, \
                proc.stderr
    assert cluster.run('squeue', '-h').stdout.strip() == ''


@pytest.fixture(scope='module')
def reference(cluster, tiny_config, tmp_path_factory):
    """The uninterrupted run, through slurm_train.sh as the README runs it
    on a CPU partition."""
    started = time.monotonic()
    ref = str(tmp_path_factory.mktemp('ref') / 'work')
    proc = cluster.run('bash', 'tools/slurm_train.sh', 'cpu', 'ref',
                       tiny_config, ref, '--no-validate', **CPU_JOB)
    assert 'Saving checkpoint at 3 epochs' in proc.stdout + proc.stderr
    print(f'slurm_train.sh, 2 CPU tasks: {time.monotonic() - started:.0f} s')
    return ref


def test_slurm_test_on_cpu(cluster, tiny_config, reference, tmp_path):
    out = str(tmp_path / 'metrics.json')
    cluster.run('bash', 'tools/slurm_test.sh', 'cpu', 'test', tiny_config,
                osp.join(reference, 'epoch_3.pth'), '--out', out, **CPU_JOB)
    with open(out) as f:
        assert 'rsitr/mR' in json.load(f)


def test_preempted_job_requeues_itself_and_resumes_exactly(
        cluster, tiny_config, reference, tmp_path):
    started = time.monotonic()
    work = str(tmp_path / 'run')
    proc = cluster.run('bash', 'tools/slurm_submit.sh', 'cpu', 'run',
                       tiny_config, work, '--no-validate', SIGNAL_LEAD='60',
                       **CPU_JOB)
    job_id = re.search(r'Submitted batch job (\d+)', proc.stdout).group(1)
    log = osp.join(work, f'slurm-{job_id}.out')
    deadline = time.monotonic() + 600
    # the preemption signal while epoch 2 trains
    while time.monotonic() < deadline:
        if osp.exists(log) and 'Epoch(train) [2][1/5]' in open(log).read():
            break
        assert cluster.job(job_id).get('JobState') in ('PENDING', 'RUNNING')
        time.sleep(0.2)
    cluster.run('scancel', '--signal=USR1', '--batch', job_id)
    while time.monotonic() < deadline:
        info = cluster.job(job_id)
        if info.get('JobState') in ('COMPLETED', 'FAILED', 'CANCELLED',
                                    'TIMEOUT', 'NODE_FAIL'):
            break
        time.sleep(1)
    text = open(log).read()
    assert info['JobState'] == 'COMPLETED' and info['Restarts'] == '1', \
        (info, text[-6000:])
    lines = [ln for ln in text.splitlines() if re.search(
        r'slurm_submit|received: saving|Saving checkpoint at \d+ iter|'
        r'resume: continuing|resumed epoch', ln)]
    print(f'slurm_submit.sh job, preempted and requeued: '
          f'{time.monotonic() - started:.0f} s')
    print('\n'.join(lines))
    stopped = re.search(r'USR1 received: saving a checkpoint after '
                        r'iteration (\d+) and stopping \(exit code 138\)',
                        text)
    assert stopped, text[-6000:]
    done = stopped.group(1)
    for expected in (
            f'job {job_id}: start (restart 0), 2 processes',
            'USR1: training saves a checkpoint and stops',
            f'Saving checkpoint at {done} iterations (training stops)',
            'training exited with 138',
            'requeueing (the requeued job resumes from the checkpoint)',
            f'job {job_id}: start (restart 1), 2 processes',
            f'resume: continuing from {work}/iter_{done}.pth',
            f'resumed epoch: 1, iter: {done}',
            'training exited with 0'):
        assert expected in text, (expected, text[-6000:])
    state, expected = _weights(work), _weights(reference)
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
