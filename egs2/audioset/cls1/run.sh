#!/usr/bin/env bash
# AudioSet tagging with the SLAP encoder (paper Table 4; AudioMAE's protocol): balanced
# sampling by inverse label frequency, mixup, random time roll, mAP on the eval segments.
#
#   ./run.sh --pretrained_slap <exp dir | packed .zip | model-zoo tag>        # AudioSet-20K
#   ./run.sh --full true --pretrained_slap ...                                 # full AudioSet
#   ./run.sh --train_config conf/tag_linear_probe.yaml --pretrained_slap ...   # linear probe
#
# Every other option goes to slapcls.sh (./slapcls.sh --help). The eval set is also the
# validation set, as in AudioMAE, so the last epoch (latest.pth) is scored, not a "best" one.
set -euo pipefail
full=false
train_config=
opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --full) full=$2; shift 2 ;;
        --train_config) train_config=$2; shift 2 ;;
        *) opts+=("$1"); shift ;;
    esac
done
train_set=balanced_train
if ${full}; then
    train_set=full_train
    train_config=${train_config:-conf/tag_finetune_full.yaml}
fi
train_config=${train_config:-conf/tag_finetune.yaml}
./slapcls.sh \
    --local_data_opts "--full ${full}" \
    --train_set "${train_set}" \
    --valid_set eval \
    --test_sets eval \
    --train_config "${train_config}" \
    --inference_model latest.pth \
    "${opts[@]}"
