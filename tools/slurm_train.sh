#!/usr/bin/env bash
# Training on a slurm cluster: one srun task per GPU (no torchrun inside).
#   GPUS=16 GPUS_PER_NODE=8 bash tools/slurm_train.sh PARTITION JOB CONFIG WORK_DIR [train.py options]
#   GPUS=4 GPUS_PER_NODE=0 CPUS_PER_TASK=2 bash tools/slurm_train.sh ...   # CPU partition (gloo)
# Environment: GPUS (default 8), GPUS_PER_NODE (8; 0 = CPU job),
# CPUS_PER_TASK (5), DEVICE (cuda, or cpu), GPU_REQUEST (gres: --gres=gpu:N,
# or gpus-per-node: --gpus-per-node=N), SRUN_ARGS (extra srun arguments),
# MASTER_PORT (default derived from the job id so that concurrent jobs on a
# node do not collide).  Requests that cannot fit the partition's nodes are
# refused before srun (tools/slurm_setup.sh).  For a job that survives
# preemption and time limits, use tools/slurm_submit.sh.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=tools/slurm_setup.sh
. "$ROOT/tools/slurm_setup.sh"

# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    "${RESOURCES[@]}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$ROOT/tools/train.py" "$CONFIG" --work-dir="$WORK_DIR" \
    --launcher="slurm" "${@:5}"
