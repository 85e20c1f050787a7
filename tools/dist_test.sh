#!/usr/bin/env bash
# Multi-GPU evaluation through torchrun.
#   bash tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py options]
# One machine: torchrun --standalone picks a free rendezvous port;
# PORT=29501 (or MASTER_PORT) fixes it.  Multi-node: as tools/dist_train.sh.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-${MASTER_PORT:-}}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"

if [ "$NNODES" = 1 ] && [ -z "$PORT" ]; then
    RDZV=(--standalone)
else
    RDZV=(--nnodes="$NNODES" --node_rank="$NODE_RANK"
          --master_addr="$MASTER_ADDR" --master_port="${PORT:-29500}")
fi

PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
torchrun \
    "${RDZV[@]}" \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/test.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
