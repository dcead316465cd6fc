#!/usr/bin/env bash
# Pretraining as in the paper: SLAP (L_CLAP + L_SSL + 0.5 L_CAP) on WavCaps + AudioCaps train
# + Clotho development, validated on Clotho validation + AudioCaps val, scored on Clotho
# evaluation and AudioCaps test. Fine-tune the result with egs2/audiocaps/slap1 and
# egs2/clotho/slap1 (--pretrained_model exp/slap_train_slap_paper).
#
#   WAVCAPS=/data/WavCaps AUDIOCAPS=/data/audiocaps CLOTHO=/data/clotho ./run.sh --ngpu 8
#
# Every option goes to slap.sh (./slap.sh --help), later ones win.
set -euo pipefail

if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi

./slap.sh \
    --train_set pretrain_train \
    --valid_set pretrain_valid \
    --test_sets "clotho_evaluation audiocaps_test" \
    --train_config conf/train_slap_paper.yaml \
    --nbpe 5000 \
    "$@"
