#!/usr/bin/env bash
# Clotho v2.1: fine-tune a pretrained SLAP model (e.g. egs2/wavcaps/slap1) on Clotho
# development with all three losses, then score retrieval (several captions per clip) and
# captioning on Clotho evaluation.
#
#   CLOTHO=/data/clotho ./run.sh --pretrained_model ../../wavcaps/slap1/exp/slap_train_slap_paper
#   ./run.sh --pretrained_model model.zip --ngpu 4      # a packed model or model-zoo tag too
#
# The pretrained model's caption token list, BPE model and GlobalMVN statistics are reused
# (slap.sh stage 4); every option goes to slap.sh (./slap.sh --help), later ones win.
set -euo pipefail

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
case " $* " in
    *" --pretrained_model "* | *" --pretrained-model "*) ;;
    *) echo "run.sh: no --pretrained_model: training from scratch on Clotho alone" >&2 ;;
esac

./slap.sh \
    --train_set clotho_development \
    --valid_set clotho_validation \
    --test_sets "clotho_evaluation" \
    --train_config conf/finetune_slap_paper.yaml \
    "$@"
