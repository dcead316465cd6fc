#!/usr/bin/env bash
# AudioSet tagging sets from $AUDIOSET (db.sh): data/balanced_train (AudioSet-20K), data/eval
# and, with --full true, data/full_train (balanced + unbalanced). Missing clips are counted.
set -euo pipefail
full=false       # also write data/full_train (~2M segments)
audio_dir=       # folder of the downloaded clips (default: $AUDIOSET/audio)
help_message="Usage: $0 [--full true|false] [--audio_dir DIR]"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh
opts=(--full "${full}")
[ -n "${audio_dir}" ] && opts+=(--audio_dir "${audio_dir}")
python -m espnet2_slap.corpora.audioset --root "${AUDIOSET}" --out_dir data "${opts[@]}"
