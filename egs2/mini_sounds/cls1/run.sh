#!/usr/bin/env bash
# mini_sounds tagging demo: ESPnet's CLS task with a SLAP encoder on the demo corpus's
# labelled source recordings (./run.sh --help).
set -euo pipefail
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') [run.sh] $*"; }
stage=0
pretrained_slap=
parallel=false   # true: the four runs train at the same time (logs in exp/run_<mode>_<init>.log)

help_message="Usage: $0 [options]

mini_sounds tagging demo: ESPnet's CLS task with a SLAP encoder on the demo corpus's labelled
source recordings (54 sound classes). Four runs with the same config, steps and seed: {linear
probe, fine-tuning} x {pretrained SLAP encoder, same architecture randomly initialised};
exp/RESULTS.md tabulates their test accuracy.

  $0                                  # short SLAP pretraining first (stage 0)
  $0 --pretrained_slap ../slap1/exp/slap_train_slap_tiny/packed_model.zip
                                            # use an existing SLAP model (e.g. the full demo's)

Options of run.sh:
  --stage N               0: short SLAP pretraining (without --pretrained_slap), 1-3: tagging
                          data, formatting, statistics, 4-6: the four runs [${stage}]
  --pretrained_slap SRC   SLAP model of the encoder; skips stage 0 [exp/slap_pretrain_slap_short]
  --parallel BOOL         the four runs train at the same time [${parallel}]
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
        --stage | --pretrained_slap | --pretrained-slap | --parallel)
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
common=(--train_set train --valid_set valid --test_sets test --nj 2 --inference_nj 2 --ngpu 0
        --inference_model valid.acc.best.pth)

if [ -z "${pretrained_slap}" ]; then
    pretrained_slap=exp/slap_pretrain_slap_short
    if [ "${stage}" -le 0 ]; then
        log "stage 0: short SLAP pretraining on the mini_sounds captions (conf/pretrain_slap_short.yaml)"
        mkdir -p data
        for s in train valid; do ln -sfn "../../slap1/data/${s}" "data/pretrain_${s}"; done
        [ -f ../slap1/data/train/wav.scp ] || ./local/data.sh
        ./slap.sh --stage 2 --stop_stage 6 --train_set pretrain_train --valid_set pretrain_valid \
            --train_config conf/pretrain_slap_short.yaml --nj 2 --ngpu 0 --nbpe 500
    fi
fi
if [ "${stage}" -le 3 ]; then
    log "tagging data, formatting, statistics (slapcls.sh stages 1-3)"
    ./slapcls.sh "${common[@]}" --stage 1 --stop_stage 3 --train_config conf/tag_linear_probe.yaml \
        --pretrained_slap "${pretrained_slap}" "${opts[@]}"
fi
train_and_score() {  # train_and_score MODE INIT
    local args=
    [ "$2" = random ] && args="--slap_init_weights none"
    log "$1, $2 encoder"
    ./slapcls.sh "${common[@]}" --stage "$(( stage > 4 ? stage : 4 ))" --stop_stage 6 \
        --train_config "conf/tag_$1.yaml" --tag "$1_$2" \
        --pretrained_slap "${pretrained_slap}" --train_args "${args}" "${opts[@]}"
}
mkdir -p exp
pids=()
for mode in linear_probe finetune; do
    for init in pretrained random; do
        if ${parallel}; then
            train_and_score "${mode}" "${init}" >"exp/run_${mode}_${init}.log" 2>&1 &
            pids+=($!)
        else
            train_and_score "${mode}" "${init}"
        fi
    done
done
for pid in "${pids[@]}"; do
    wait "${pid}" || { echo "run.sh: a run failed, see exp/run_*.log" >&2; exit 1; }
done
# shellcheck source=/dev/null
. ./path.sh
python local/make_table.py --exp_dir exp --output exp/RESULTS.md --note "SLAP model: ${pretrained_slap}"
