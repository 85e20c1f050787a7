#!/usr/bin/env bash
# Evaluation on a slurm cluster: one srun task per GPU.
#   GPUS=8 bash tools/slurm_test.sh PARTITION JOB CONFIG CHECKPOINT [test.py options]
# Environment: as tools/slurm_train.sh (GPUS, GPUS_PER_NODE (0 = CPU job),
# CPUS_PER_TASK, DEVICE, GPU_REQUEST, SRUN_ARGS, MASTER_PORT).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
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
    python -u "$ROOT/tools/test.py" "$CONFIG" "$CHECKPOINT" \
    --launcher="slurm" "${@:5}"
