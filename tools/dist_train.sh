#!/usr/bin/env bash
# Multi-GPU (or multi-node) training through torchrun.
#   bash tools/dist_train.sh CONFIG GPUS [train.py options]
# One machine: torchrun --standalone picks a free rendezvous port, so several
# jobs can share a machine; PORT=29501 (or MASTER_PORT) fixes the port.
# Multi-node: NNODES=2 NODE_RANK=0 MASTER_ADDR=host0 PORT=29500 bash ... on
# every node (the port must be the same on all nodes; default 29500).
# TORCHRUN_ARGS: extra torchrun options, e.g. "--max-restarts=3": after a
# worker dies every worker restarts and resumes the newest checkpoint of the
# work_dir (tools/train.py does when TORCHELASTIC_RESTART_COUNT > 0).
# Restarted workers must not read the previous attempt's addresses from a
# rendezvous store torchrun shares with them (pytorch/pytorch#135712), so
# the store is not shared unless TORCH_DISABLE_SHARE_RDZV_TCP_STORE=0.
set -euo pipefail
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-${MASTER_PORT:-}}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
export TORCH_DISABLE_SHARE_RDZV_TCP_STORE=${TORCH_DISABLE_SHARE_RDZV_TCP_STORE:-1}

if [ "$NNODES" = 1 ] && [ -z "$PORT" ]; then
    RDZV=(--standalone)
else
    RDZV=(--nnodes="$NNODES" --node_rank="$NODE_RANK"
          --master_addr="$MASTER_ADDR" --master_port="${PORT:-29500}")
fi

# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" \
torchrun \
    "${RDZV[@]}" \
    ${TORCHRUN_ARGS:-} \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
