#!/usr/bin/env bash
# Speech Commands v2 keyword classification with the SLAP encoder (paper Table 4)
# (./run.sh --help).
set -euo pipefail

protocol=35                         # 35 words, or 12 (10 commands + _unknown_ + _silence_)
train_config=conf/tag_finetune.yaml
local_data_opts=                    # more options of local/data.sh, added to --protocol

help_message="Usage: $0 [options]

Speech Commands v2 keyword classification with the SLAP encoder (paper Table 4): 35 words,
official validation/testing lists; --protocol 12 for the 12-class task.

  $0 --pretrained_slap <exp dir | packed .zip | model-zoo tag>
  $0 --protocol 12 --pretrained_slap ...
  $0 --train_config conf/tag_linear_probe.yaml --pretrained_slap ...

Options of run.sh:
  --protocol 35|12        the 35-word task or the 12-class one [${protocol}]
  --train_config YAML     [${train_config}]
  --local_data_opts STR   more options of local/data.sh, added to run.sh's --protocol
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
        --protocol | --train_config | --train-config | --local_data_opts | --local-data-opts)
            [ $# -ge 2 ] || { echo "run.sh: error: option $1 needs a value" >&2; exit 1; }
            name=${1#--}
            printf -v "${name//-/_}" '%s' "$2"
            shift 2 ;;
        *) opts+=("$1"); shift ;;
    esac
done
prefix=
[ "${protocol}" = 12 ] && prefix=sc12_
./slapcls.sh \
    --local_data_opts "--protocol ${protocol}${local_data_opts:+ ${local_data_opts}}" \
    --train_set "${prefix}train" \
    --valid_set "${prefix}valid" \
    --test_sets "${prefix}test" \
    --train_config "${train_config}" \
    --inference_model valid.acc.best.pth \
    "${opts[@]}"
