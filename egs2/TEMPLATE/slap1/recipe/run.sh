#!/usr/bin/env bash
# SLAP recipe for MYCORPUS (made by egs2/TEMPLATE/slap1/setup.sh): every stage of slap.sh.
#
#   ./run.sh                              # stages 1-9 on CPU (stage 10, upload, is skipped)
#   ./run.sh --stage 5 --ngpu 1           # any slap.sh option is passed on (./run.sh --help)
#
# Edit the sets and the config below; local/data.sh writes data/<set>/ (stage 1).
set -euo pipefail

train_set=train
valid_set=valid
test_sets="test"
zeroshot_sets=""     # zero-shot classification sets need utt2label and labels files
train_config=conf/train_slap_tiny.yaml

help_message="Usage: $0 [options]

SLAP on MYCORPUS: run.sh gives slap.sh --train_set ${train_set} --valid_set ${valid_set}
--test_sets \"${test_sets}\" --zeroshot_sets \"${zeroshot_sets}\" --train_config ${train_config};
every option goes on to slap.sh, later ones win. The options of slap.sh:
"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; "$(dirname "$0")/slap.sh" --help; exit 0 ;;
    esac
done
if [ ! -f ./slap.sh ] || [ ! -f ./path.sh ]; then
    echo "run.sh: error: run me from the recipe directory: cd $(dirname "$0") && ./run.sh" >&2
    exit 1
fi

./slap.sh \
    --train_set "${train_set}" \
    --valid_set "${valid_set}" \
    --test_sets "${test_sets}" \
    --zeroshot_sets "${zeroshot_sets}" \
    --train_config "${train_config}" \
    "$@"
