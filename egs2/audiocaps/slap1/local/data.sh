#!/usr/bin/env bash
# AudioCaps -> data/audiocaps_{train,val,test}: caption sets with text (first caption),
# text_refs and utt2captions (all captions of a clip). Reads AUDIOCAPS (db.sh); downloads
# nothing. Clips whose audio was not fetched are counted and listed in data/local/, not fatal.
set -euo pipefail

splits=      # comma-separated subset of train,val,test (default: all)
audio_dir=   # folder of the downloaded audio, searched before the usual places (see README.md)

help_message="Usage: $0 [--splits train,val,test] [--audio_dir DIR]"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh

python -m espnet2_slap.corpora.audiocaps --root "${AUDIOCAPS}" --out_dir data \
    ${splits:+--splits "${splits}"} ${audio_dir:+--audio_dir "${audio_dir}"}
