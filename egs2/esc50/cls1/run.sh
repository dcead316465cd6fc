#!/usr/bin/env bash
# ESC-50 5-fold cross-validation with the SLAP encoder (paper Table 4): for each fold k, train
# on the other four folds and test on fold k; exp/RESULTS_cv.md gives the mean and each
# fold's accuracy.
#
#   ./run.sh --pretrained_slap <exp dir | packed .zip | model-zoo tag>
#   ./run.sh --train_config conf/tag_linear_probe.yaml --pretrained_slap ...
#   ./run.sh --folds "1 2"            # a subset of the folds
#
# Every other option goes to slapcls.sh (./slapcls.sh --help). There is no validation split:
# the held-out fold is the validation set, so the last epoch (latest.pth) is scored.
set -euo pipefail
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') [run.sh] $*"; }
stage=1
folds="1 2 3 4 5"
train_config=conf/tag_finetune.yaml
expdir=exp
dumpdir=dump
opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --stage) stage=$2; shift 2 ;;
        --folds) folds=$2; shift 2 ;;
        --train_config) train_config=$2; shift 2 ;;
        --expdir) expdir=$2; opts+=("$1" "$2"); shift 2 ;;
        --dumpdir) dumpdir=$2; opts+=("$1" "$2"); shift 2 ;;
        *) opts+=("$1"); shift ;;
    esac
done
tag=$(basename "${train_config}" .yaml)
token_list=data/esc50_token_list

if [ "${stage}" -le 2 ]; then
    log "data preparation and formatting of all 2000 clips (slapcls.sh stages 1-2)"
    ./slapcls.sh "${opts[@]}" --stage 1 --stop_stage 2 --train_set esc50 --valid_set esc50 \
        --tag "${tag}" --token_list "${token_list}"
    # shellcheck source=/dev/null
    . ./path.sh
    python -m espnet2_slap.cls.folds --data_dir "${dumpdir}/raw/esc50" --out_dir "${dumpdir}/raw"
fi
scoring_dirs=()
for k in ${folds}; do
    log "fold ${k}"
    ./slapcls.sh --stage "$(( stage > 3 ? stage : 3 ))" \
        --train_set "esc50_fold${k}_train" --valid_set "esc50_fold${k}_test" --test_sets "esc50_fold${k}_test" \
        --train_config "${train_config}" --tag "${tag}_fold${k}" --token_list "${token_list}" \
        --inference_model latest.pth "${opts[@]}"
    scoring_dirs+=("${expdir}/cls_${tag}_fold${k}/cls_esc50_fold${k}_test/scoring")
done
# shellcheck source=/dev/null
. ./path.sh
python -m espnet2_slap.cls.scoring folds --out "${expdir}/cv_${tag}" "${scoring_dirs[@]}"
cp "${expdir}/cv_${tag}/metrics.md" "${expdir}/RESULTS_cv.md"
log "Cross-validation: ${expdir}/RESULTS_cv.md"
