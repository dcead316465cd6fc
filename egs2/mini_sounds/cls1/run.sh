#!/usr/bin/env bash
# mini_sounds tagging demo: ESPnet's CLS task with the SLAP encoder of the slap1 demo on the
# corpus's labelled source recordings, pretrained vs random initialisation (./run.sh --help).
set -euo pipefail
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') [run.sh] $*"; }
stage=0
demo_slap=../slap1/exp/slap_train_slap_tiny   # what ../slap1/run.sh trains
pretrained_slap=${demo_slap}
seeds="1 2 3"
parallel=false   # true: the four runs of a seed train at the same time (exp/run_<tag>.log)

help_message="Usage: $0 [options]

mini_sounds tagging demo: ESPnet's CLS task with a SLAP encoder on the demo corpus's labelled
source recordings (the zero-shot label set of ../slap1). For each seed, four runs with the same
config and steps: {linear probe, fine-tuning} x {pretrained SLAP encoder, the same architecture
randomly initialised}; exp/RESULTS.md gives each one's test accuracy and mAP as mean and
standard deviation over the seeds, and says whether pretraining's gain exceeds their spread.

  $0                                  # the slap1 demo's SLAP model (trained first when absent)
  $0 --pretrained_slap path/to/packed_model.zip   # any other SLAP model
  $0 --seeds \"1\"                      # one seed

Options of run.sh:
  --stage N               0: train the slap1 demo's SLAP model when it is absent
                          (cd ../slap1 && ./run.sh --run_ablation false --stop_stage 6, about
                          13 minutes on 2 CPU cores), 1-3: tagging data, formatting,
                          statistics, 4-6: the runs [${stage}]
  --pretrained_slap SRC   SLAP model of the encoder: exp dir, .pth, packed .zip or model-zoo
                          tag [${pretrained_slap}]
  --seeds \"S ...\"         training seeds (initialisation, batches, augmentation) [${seeds}]
  --parallel BOOL         the four runs of a seed train at the same time [${parallel}]
Every other option goes to slapcls.sh. The options of slapcls.sh:
"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; "$(dirname "$0")/slapcls.sh" --help; exit 0 ;;
    esac
done
opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --stage | --pretrained_slap | --pretrained-slap | --seeds | --parallel)
            [ $# -ge 2 ] || { echo "run.sh: error: option $1 needs a value" >&2; exit 1; }
            name=${1#--}
            printf -v "${name//-/_}" '%s' "$2"
            shift 2 ;;
        *) opts+=("$1"); shift ;;
    esac
done
case "${parallel}" in
    true | false) ;;
    *) echo "run.sh: error: --parallel takes true or false, got '${parallel}'" >&2; exit 1 ;;
esac
for seed in ${seeds}; do
    [[ "${seed}" =~ ^[0-9]+$ ]] || { echo "run.sh: error: --seeds takes numbers, got '${seed}'" >&2; exit 1; }
done
[ -n "${seeds// /}" ] || { echo "run.sh: error: --seeds is empty" >&2; exit 1; }
common=(--train_set train --valid_set valid --test_sets test --nj 2 --inference_nj 2 --ngpu 0
        --inference_model valid.acc.best.pth)

# The demo model is complete once its training wrote the best checkpoint (at the end).
demo_slap_missing() { [ "${pretrained_slap}" = "${demo_slap}" ] && [ ! -e "${demo_slap}/valid.loss.best.pth" ]; }
if [ "${stage}" -le 0 ] && demo_slap_missing; then
    log "stage 0: ${demo_slap} is absent: training the slap1 demo's SLAP model"
    (cd ../slap1 && ./run.sh --run_ablation false --stop_stage 6)
fi
if demo_slap_missing; then
    echo "run.sh: error: no trained SLAP model in ${demo_slap}: run stage 0 (./run.sh) or pass" \
        "--pretrained_slap" >&2
    exit 1
fi
if [ "${stage}" -le 3 ]; then
    log "tagging data, formatting, statistics (slapcls.sh stages 1-3)"
    ./slapcls.sh "${common[@]}" --stage 1 --stop_stage 3 --train_config conf/tag_linear_probe.yaml \
        --pretrained_slap "${pretrained_slap}" "${opts[@]}"
fi
train_and_score() {  # train_and_score MODE INIT SEED
    local args="--seed $3"
    [ "$2" = random ] && args+=" --slap_init_weights none"
    log "$1, $2 encoder, seed $3"
    ./slapcls.sh "${common[@]}" --stage "$(( stage > 4 ? stage : 4 ))" --stop_stage 6 \
        --train_config "conf/tag_$1.yaml" --tag "$1_$2_seed$3" \
        --pretrained_slap "${pretrained_slap}" --train_args "${args}" "${opts[@]}"
}
mkdir -p exp
for seed in ${seeds}; do
    pids=()
    for mode in linear_probe finetune; do
        for init in pretrained random; do
            if ${parallel}; then
                train_and_score "${mode}" "${init}" "${seed}" >"exp/run_${mode}_${init}_seed${seed}.log" 2>&1 &
                pids+=($!)
            else
                train_and_score "${mode}" "${init}" "${seed}"
            fi
        done
    done
    for pid in "${pids[@]}"; do
        wait "${pid}" || { echo "run.sh: a run failed, see exp/run_*_seed${seed}.log" >&2; exit 1; }
    done
done
# shellcheck source=/dev/null
. ./path.sh
python local/make_table.py --exp_dir exp --seeds ${seeds} --output exp/RESULTS.md \
    --note "SLAP model: ${pretrained_slap}"
