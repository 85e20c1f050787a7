# Sourced by tools/slurm_{train,test,submit}.sh (not run on its own): turns
# the scripts' environment into Slurm resource options, in RESOURCES, after
# checking with sinfo that they fit a node of PARTITION (set before sourcing),
# and derives MASTER_PORT from the job id inside an allocation.
#
#   GPUS           number of processes (one per GPU, or per CPU process), 8
#   GPUS_PER_NODE  processes per node, 8; 0 = a CPU job, Slurm places them
#   CPUS_PER_TASK  CPUs per process, 5
#   DEVICE         cuda (default) or cpu; cpu when GPUS_PER_NODE=0.  A CPU
#                  job requests no GPU and hides them (CUDA_VISIBLE_DEVICES=)
#                  so that training uses gloo.
#   GPU_REQUEST    how GPUs are requested: gres (--gres=gpu:N, default) or
#                  gpus-per-node (--gpus-per-node=N)
#
# A request that cannot fit (more processes x CPUs per process than a node
# of the partition has CPUs, more GPUs than it has, more nodes than it has,
# GPUs on a partition without any) is refused here with a message, instead
# of a job that waits forever.  Without sinfo (or when it fails) the request
# goes unchecked.
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
GPU_REQUEST=${GPU_REQUEST:-gres}
if [ "$GPUS_PER_NODE" = 0 ]; then
    DEVICE=${DEVICE:-cpu}
else
    DEVICE=${DEVICE:-cuda}
fi

_slurm_refuse() {
    echo "$(basename "$0"): $*" >&2
    exit 2
}

for _name in GPUS GPUS_PER_NODE CPUS_PER_TASK; do
    case "${!_name}" in
        ''|*[!0-9]*) _slurm_refuse "$_name=${!_name}: expected a number" ;;
    esac
done
[ "$GPUS" -gt 0 ] && [ "$CPUS_PER_TASK" -gt 0 ] || \
    _slurm_refuse "GPUS and CPUS_PER_TASK must be at least 1"

RESOURCES=(--ntasks="$GPUS" --cpus-per-task="$CPUS_PER_TASK")
[ "$GPUS_PER_NODE" -gt 0 ] && RESOURCES+=(--ntasks-per-node="$GPUS_PER_NODE")
case "$DEVICE" in
    cuda)
        [ "$GPUS_PER_NODE" -gt 0 ] || _slurm_refuse \
            "DEVICE=cuda needs GPUS_PER_NODE > 0 (GPUS_PER_NODE=0 is a CPU job)"
        case "$GPU_REQUEST" in
            gres) RESOURCES+=(--gres=gpu:"$GPUS_PER_NODE") ;;
            gpus-per-node) RESOURCES+=(--gpus-per-node="$GPUS_PER_NODE") ;;
            *) _slurm_refuse "GPU_REQUEST=$GPU_REQUEST: expected gres or" \
                   "gpus-per-node" ;;
        esac ;;
    cpu)
        export CUDA_VISIBLE_DEVICES= ;;
    *) _slurm_refuse "DEVICE=$DEVICE: expected cuda or cpu" ;;
esac

# "CPUS GRES" per node of the partition, e.g. "64 gpu:a100:8(S:0-1)"
if [ -n "${PARTITION:-}" ] && command -v sinfo >/dev/null 2>&1 && \
        _nodes=$(sinfo -h -N -p "$PARTITION" -o '%N %c %G' 2>/dev/null); then
    [ -n "$_nodes" ] || _slurm_refuse "partition $PARTITION has no nodes" \
        "(sinfo -p $PARTITION lists none; sinfo -s lists the partitions)"
    read -r _count _cpus _gpus <<<"$(awk '
        !seen[$1]++ {
            n++; if ($2 > cpus) cpus = $2
            g = 0; split($3, items, ",")
            for (i in items) if (items[i] ~ /^gpu(:|$)/) {
                sub(/\(.*/, "", items[i]); k = split(items[i], f, ":")
                g += (f[k] ~ /^[0-9]+$/) ? f[k] : 1
            }
            if (g > gpus) gpus = g
        }
        END { print n + 0, cpus + 0, gpus + 0 }' <<<"$_nodes")"
    _per_node=$GPUS_PER_NODE
    [ "$_per_node" -gt 0 ] || _per_node=$(( (GPUS + _count - 1) / _count ))
    [ "$_per_node" -le "$GPUS" ] || _per_node=$GPUS
    [ $(( _per_node * CPUS_PER_TASK )) -le "$_cpus" ] || _slurm_refuse \
        "$_per_node processes per node x CPUS_PER_TASK=$CPUS_PER_TASK =" \
        "$(( _per_node * CPUS_PER_TASK )) CPUs, but the nodes of partition" \
        "$PARTITION have at most $_cpus CPUs (sinfo): lower GPUS_PER_NODE" \
        "or CPUS_PER_TASK"
    [ $(( (GPUS + _per_node - 1) / _per_node )) -le "$_count" ] || \
        _slurm_refuse "GPUS=$GPUS processes at $_per_node per node need" \
        "$(( (GPUS + _per_node - 1) / _per_node )) nodes, partition" \
        "$PARTITION has $_count"
    if [ "$DEVICE" = cuda ]; then
        [ "$_gpus" -gt 0 ] || _slurm_refuse "partition $PARTITION has no" \
            "GPUs (sinfo lists no gpu gres): for a CPU job set" \
            "GPUS_PER_NODE=0 or DEVICE=cpu"
        [ "$GPUS_PER_NODE" -le "$_gpus" ] || _slurm_refuse \
            "GPUS_PER_NODE=$GPUS_PER_NODE, but the nodes of partition" \
            "$PARTITION have at most $_gpus GPUs (sinfo)"
    fi
fi

# Inside an allocation (sbatch/salloc) the port is derived here; otherwise
# each task derives the same port from SLURM_JOB_ID in
# sdtr.utils.setup_env.setup_distributed before the process group starts.
if [ -z "${MASTER_PORT:-}" ] && [ -n "${SLURM_JOB_ID:-}" ]; then
    export MASTER_PORT=$((10000 + SLURM_JOB_ID % 20000))
fi
