#!/usr/bin/env bash
# Evaluation on a slurm cluster: one srun task per GPU.
#   GPUS=8 bash tools/slurm_test.sh PARTITION JOB CONFIG CHECKPOINT [test.py options]
# Environment: GPUS (default 8), GPUS_PER_NODE (8), CPUS_PER_TASK (5),
# SRUN_ARGS, MASTER_PORT (default derived from the job id).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [ -z "${MASTER_PORT:-}" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    export MASTER_PORT=$((10000 + SLURM_JOB_ID % 20000))
fi

# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher="slurm" "${@:5}"
