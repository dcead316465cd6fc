#!/usr/bin/env bash
# AudioSet tagging with the SLAP encoder (paper Table 4; AudioMAE's protocol) (./run.sh --help).
set -euo pipefail

full=false       # also train on the unbalanced segments (full AudioSet)
train_config=    # default: conf/tag_finetune.yaml, or conf/tag_finetune_full.yaml with --full
local_data_opts= # more options of local/data.sh, added to run.sh's own (--full)

help_message="Usage: $0 [options]

AudioSet tagging with the SLAP encoder (paper Table 4; AudioMAE's protocol): balanced sampling
by inverse label frequency, mixup, random time roll, mAP on the eval segments.

  $0 --pretrained_slap <exp dir | packed .zip | model-zoo tag>        # AudioSet-20K
  $0 --full true --pretrained_slap ...                                 # full AudioSet
  $0 --train_config conf/tag_linear_probe.yaml --pretrained_slap ...   # linear probe

Options of run.sh:
  --full BOOL             full AudioSet: data/full_train (balanced + unbalanced) [${full}]
  --train_config YAML     [conf/tag_finetune.yaml, or conf/tag_finetune_full.yaml with --full]
  --local_data_opts STR   more options of local/data.sh (e.g. \"--audio_dir D\"), added to
                          run.sh's --full
Every other option goes to slapcls.sh. The eval set is also the validation set, as in AudioMAE,
so the last epoch (latest.pth) is scored, not a \"best\" one. The options of slapcls.sh:
"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; "$(dirname "$0")/slapcls.sh" --help; exit 0 ;;
    esac
done
opts=()
while [ $# -gt 0 ]; do
    case "$1" in
        --full | --train_config | --train-config | --local_data_opts | --local-data-opts)
            [ $# -ge 2 ] || { echo "run.sh: error: option $1 needs a value" >&2; exit 1; }
            name=${1#--}
            printf -v "${name//-/_}" '%s' "$2"
            shift 2 ;;
        *) opts+=("$1"); shift ;;
    esac
done
case "${full}" in
    true | false) ;;
    *) echo "run.sh: error: --full takes true or false, got '${full}'" >&2; exit 1 ;;
esac
train_set=balanced_train
if ${full}; then
    train_set=full_train
    train_config=${train_config:-conf/tag_finetune_full.yaml}
fi
train_config=${train_config:-conf/tag_finetune.yaml}
./slapcls.sh \
    --local_data_opts "--full ${full}${local_data_opts:+ ${local_data_opts}}" \
    --train_set "${train_set}" \
    --valid_set eval \
    --test_sets eval \
    --train_config "${train_config}" \
    --inference_model latest.pth \
    "${opts[@]}"
