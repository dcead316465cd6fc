#!/usr/bin/env bash
# AudioCaps: fine-tune a pretrained SLAP model on AudioCaps train, then score retrieval and
# captioning on AudioCaps test (./run.sh --help).
set -euo pipefail

help_message="Usage: $0 [options]

AudioCaps: fine-tune a pretrained SLAP model (e.g. egs2/wavcaps/slap1) on AudioCaps train with
all three losses, then score retrieval (five captions per test clip) and captioning on
AudioCaps test.

  AUDIOCAPS=/data/audiocaps $0 --pretrained_model ../../wavcaps/slap1/exp/slap_train_slap_paper
  $0 --pretrained_model model.zip --ngpu 4      # a packed model or model-zoo tag too

The pretrained model's caption token list, BPE model and GlobalMVN statistics are reused
(slap.sh stage 4). run.sh gives slap.sh --train_set audiocaps_train --valid_set audiocaps_val
--test_sets audiocaps_test --train_config conf/finetune_slap_paper.yaml; every option goes on
to slap.sh, later ones win. The options of slap.sh:
"
for arg in "$@"; do
    case "${arg}" in
        -h | --help) echo "${help_message}"; "$(dirname "$0")/slap.sh" --help; exit 0 ;;
    esac
done
case " $* " in
    *" --pretrained_model "* | *" --pretrained-model "*) ;;
    *) echo "run.sh: no --pretrained_model: training from scratch on AudioCaps alone" >&2 ;;
esac

./slap.sh \
    --train_set audiocaps_train \
    --valid_set audiocaps_val \
    --test_sets "audiocaps_test" \
    --train_config conf/finetune_slap_paper.yaml \
    "$@"
