#!/usr/bin/env bash
# Multi-GPU (or multi-node) training through torchrun.
#   bash tools/dist_train.sh CONFIG GPUS [train.py options]
# One machine: torchrun --standalone picks a free rendezvous port, so several
# jobs can share a machine; PORT=29501 (or MASTER_PORT) fixes the port.
# Multi-node: NNODES=2 NODE_RANK=0 MASTER_ADDR=host0 PORT=29500 bash ... on
# every node (the port must be the same on all nodes; default 29500).
set -euo pipefail
CONFIG=$1
GPUS=$2
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
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
