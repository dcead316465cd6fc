#!/usr/bin/env bash
# Speech Commands v2 keyword classification with the SLAP encoder (paper Table 4): 35 words,
# official validation/testing lists; --protocol 12 for the 12-class task.
#
#   ./run.sh --pretrained_slap <exp dir | packed .zip | model-zoo tag>
#   ./run.sh --protocol 12 --pretrained_slap ...
#   ./run.sh --train_config conf/tag_linear_probe.yaml --pretrained_slap ...
#
# Every other option goes to slapcls.sh (./slapcls.sh --help).
set -euo pipefail
protocol=35
train_config=conf/tag_finetune.yaml
opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --protocol) protocol=$2; shift 2 ;;
        --train_config) train_config=$2; shift 2 ;;
        *) opts+=("$1"); shift ;;
    esac
done
prefix=
[ "${protocol}" = 12 ] && prefix=sc12_
./slapcls.sh \
    --local_data_opts "--protocol ${protocol}" \
    --train_set "${prefix}train" \
    --valid_set "${prefix}valid" \
    --test_sets "${prefix}test" \
    --train_config "${train_config}" \
    --inference_model valid.acc.best.pth \
    "${opts[@]}"
