#!/usr/bin/env bash
# Pretraining as in the paper: SLAP on WavCaps + AudioCaps train + Clotho development
# (./run.sh --help).
set -euo pipefail

help_message="Usage: $0 [options]

Pretraining as in the paper: SLAP (L_CLAP + L_SSL + 0.5 L_CAP) on WavCaps + AudioCaps train +
Clotho development, validated on Clotho validation + AudioCaps val, scored on Clotho
evaluation and AudioCaps test. Fine-tune the result with egs2/audiocaps/slap1 and
egs2/clotho/slap1 (--pretrained_model exp/slap_train_slap_paper).

  WAVCAPS=/data/WavCaps AUDIOCAPS=/data/audiocaps CLOTHO=/data/clotho $0 --ngpu 8

run.sh gives slap.sh --train_set pretrain_train --valid_set pretrain_valid --test_sets
\"clotho_evaluation audiocaps_test\" --train_config conf/train_slap_paper.yaml --nbpe 5000;
every option goes on to slap.sh, later ones win. The options of slap.sh:
"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; "$(dirname "$0")/slap.sh" --help; exit 0 ;;
    esac
done

./slap.sh \
    --train_set pretrain_train \
    --valid_set pretrain_valid \
    --test_sets "clotho_evaluation audiocaps_test" \
    --train_config conf/train_slap_paper.yaml \
    --nbpe 5000 \
    "$@"
