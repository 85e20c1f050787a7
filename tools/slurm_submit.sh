#!/usr/bin/env bash
# Preemption-safe training as a Slurm batch job: it saves and requeues itself
# before its time limit, and resumes where it stopped.
#   GPUS=16 GPUS_PER_NODE=8 SBATCH_ARGS="--time=24:00:00" \
#       bash tools/slurm_submit.sh PARTITION JOB CONFIG WORK_DIR [train.py options]
# Environment: that of tools/slurm_train.sh (GPUS, GPUS_PER_NODE (0 = CPU
# job), CPUS_PER_TASK, DEVICE, GPU_REQUEST, SRUN_ARGS, MASTER_PORT), plus
#   SIGNAL_LEAD  seconds before the time limit at which Slurm signals the job
#                (sbatch --signal=B:USR1@SIGNAL_LEAD), default 300
#   SBATCH_ARGS  extra sbatch options (--time, --account, --qos, ...)
#
# The job is submitted with --requeue --open-mode=append (one log,
# WORK_DIR/slurm-<jobid>.out, across requeues) and --signal=B:USR1@LEAD:
# Slurm signals only this batch script, which forwards USR1 to srun (and srun
# to every task).  Training then saves a checkpoint after the iteration in
# progress and exits with 138 (128 + USR1); only then does this script run
# `scontrol requeue` (which only batch jobs accept), so the job is requeued
# with its checkpoint on disk, never before.  The requeued job (same id,
# SLURM_RESTART_COUNT > 0) runs tools/train.py --resume: the newest complete
# checkpoint of WORK_DIR, mid-epoch, exactly.  SIGTERM (scancel, preemption
# with PreemptMode=REQUEUE, which requeues by itself) reaches the tasks from
# Slurm directly: they save and exit with 143 within the partition's grace
# time; this script waits for them and does not requeue.  To save and
# requeue by hand: scancel --signal=USR1 --batch JOBID.
set -euo pipefail
if [ "${SDTR_SLURM_BATCH:-}" != 1 ]; then
    PARTITION=$1
    JOB_NAME=$2
    WORK_DIR=$4
    ROOT="$(cd "$(dirname "$0")/.." && pwd)"
    # shellcheck source=tools/slurm_setup.sh
    . "$ROOT/tools/slurm_setup.sh"
    mkdir -p "$WORK_DIR"
    # shellcheck disable=SC2086
    exec sbatch -p "$PARTITION" \
        --job-name="$JOB_NAME" \
        "${RESOURCES[@]}" \
        --requeue \
        --open-mode=append \
        --signal=B:USR1@"${SIGNAL_LEAD:-300}" \
        --output="$WORK_DIR/slurm-%j.out" \
        --export=ALL,SDTR_SLURM_BATCH=1,SDTR_ROOT="$ROOT" \
        ${SBATCH_ARGS:-} \
        "$ROOT/tools/slurm_submit.sh" "$@"
fi

# In the batch job (sbatch runs a copy of this file: the checkout is
# SDTR_ROOT).
CONFIG=$3
WORK_DIR=$4
ROOT=$SDTR_ROOT
PARTITION=
# shellcheck source=tools/slurm_setup.sh
. "$ROOT/tools/slurm_setup.sh"
say() { echo "[slurm_submit $(date +%T)] job $SLURM_JOB_ID: $*"; }
say "start (restart ${SLURM_RESTART_COUNT:-0}), $GPUS processes"
signal=
trap 'signal=USR1; say "USR1: training saves a checkpoint and stops"
      kill -USR1 "$pid" 2>/dev/null || true' USR1
trap 'signal=${signal:-TERM}; say "TERM: training saves a checkpoint"' TERM

# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
srun "${RESOURCES[@]}" --kill-on-bad-exit=1 ${SRUN_ARGS:-} \
    python -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher=slurm --resume "${@:5}" &
pid=$!
while :; do  # a trapped signal interrupts wait: wait again for srun
    rc=0
    wait "$pid" || rc=$?
    if [ "$rc" -gt 128 ] && kill -0 "$pid" 2>/dev/null; then continue; fi
    break
done
say "training exited with $rc"
if [ "$signal" = USR1 ] && [ "$rc" = $((128 + $(kill -l USR1))) ]; then
    say "requeueing (the requeued job resumes from the checkpoint)"
    scontrol requeue "$SLURM_JOB_ID"
fi
exit "$rc"
