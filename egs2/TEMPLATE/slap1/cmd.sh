# shellcheck shell=bash
# Job runners of the recipe stages, chosen by cmd_backend (as in ESPnet's cmd.sh):
#
#   local  utils/run.pl    every job on this machine, in parallel; --mem and --gpu are ignored
#   slurm  utils/slurm.pl  one sbatch array job per stage step (site options: SLURM_PL_OPTS)
#   sge    utils/queue.pl  one qsub array job per stage step (site options: QUEUE_PL_OPTS)
#
#   train_cmd:  data preparation, statistics, tokenization
#   cuda_cmd:   training (ESPnet's launcher adds --gpu <ngpu>, and --num_nodes for multi-node)
#   decode_cmd: inference and scoring (slap.sh adds --gpu 1 with --gpu_inference true)
#
# Training on several machines (slap.sh --num_nodes N) needs slurm or sge.
cmd_backend=${cmd_backend:-local}

case "${cmd_backend}" in
    local)
        export train_cmd="utils/run.pl"
        export cuda_cmd="utils/run.pl"
        export decode_cmd="utils/run.pl"
        ;;
    slurm)
        export train_cmd="utils/slurm.pl --mem 4G"
        export cuda_cmd="utils/slurm.pl --mem 16G --num-threads 4"
        export decode_cmd="utils/slurm.pl --mem 8G"
        ;;
    sge)
        export train_cmd="utils/queue.pl --mem 4G"
        export cuda_cmd="utils/queue.pl --mem 16G --num-threads 4"
        export decode_cmd="utils/queue.pl --mem 8G"
        ;;
    *)
        echo "cmd.sh: error: cmd_backend must be local, slurm or sge, got '${cmd_backend}'" >&2
        return 1 2>/dev/null || exit 1
        ;;
esac
