#!/usr/bin/env bash
# ESC-50 5-fold cross-validation with the SLAP encoder (paper Table 4) (./run.sh --help).
set -euo pipefail
log() { echo "$(date '+%Y-%m-%dT%H:%M:%S') [run.sh] $*"; }
stage=1
folds="1 2 3 4 5"
train_config=conf/tag_finetune.yaml
expdir=exp
dumpdir=dump

help_message="Usage: $0 [options]

ESC-50 5-fold cross-validation with the SLAP encoder (paper Table 4): for each fold k, train on
the other four folds and test on fold k; ${expdir}/RESULTS_cv.md gives the mean and each fold's
accuracy.

  $0 --pretrained_slap <exp dir | packed .zip | model-zoo tag>
  $0 --train_config conf/tag_linear_probe.yaml --pretrained_slap ...
  $0 --folds \"1 2\"            # a subset of the folds

Options of run.sh:
  --stage N               first slapcls.sh stage; 1-2 prepare and format all 2000 clips once
                          and cut the folds, 3-7 run per fold [${stage}]
  --folds \"K...\"          the folds to run [${folds}]
  --train_config YAML     [${train_config}]
  --expdir DIR, --dumpdir DIR   also passed to slapcls.sh [${expdir}, ${dumpdir}]
Every other option goes to slapcls.sh. There is no validation split: the held-out fold is the
validation set, so the last epoch (latest.pth) is scored. The options of slapcls.sh:
"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; "$(dirname "$0")/slapcls.sh" --help; exit 0 ;;
    esac
done
opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --stage | --folds | --train_config | --train-config | --expdir | --dumpdir)
            [ $# -ge 2 ] || { echo "run.sh: error: option $1 needs a value" >&2; exit 1; }
            name=${1#--}
            printf -v "${name//-/_}" '%s' "$2"
            case "$1" in --expdir | --dumpdir) opts+=("$1" "$2") ;; esac
            shift 2 ;;
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
        --train_set "esc50_fold${k}_train" --valid_set "esc50_fold${k}_test" \
        --test_sets "esc50_fold${k}_test" \
        --train_config "${train_config}" --tag "${tag}_fold${k}" --token_list "${token_list}" \
        --inference_model latest.pth "${opts[@]}"
    scoring_dirs+=("${expdir}/cls_${tag}_fold${k}/cls_esc50_fold${k}_test/scoring")
done
# shellcheck source=/dev/null
. ./path.sh
python -m espnet2_slap.cls.scoring folds --out "${expdir}/cv_${tag}" "${scoring_dirs[@]}"
cp "${expdir}/cv_${tag}/metrics.md" "${expdir}/RESULTS_cv.md"
log "Cross-validation: ${expdir}/RESULTS_cv.md"
