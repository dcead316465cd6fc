#!/usr/bin/env bash
# Pretraining data as the paper uses it: WavCaps + AudioCaps train + Clotho development.
#
#   data/wavcaps, data/audiocaps_{train,val,test}, data/clotho_{development,validation,evaluation}
#   data/pretrain_train = wavcaps + audiocaps_train + clotho_development   (training)
#   data/pretrain_valid = clotho_validation + audiocaps_val                (validation)
#
# Reads WAVCAPS, AUDIOCAPS and CLOTHO (db.sh); downloads nothing. WavCaps' blacklists remove
# its clips that overlap the AudioCaps/Clotho test sets and the zero-shot sets.
set -euo pipefail

blacklists=all        # WavCaps blacklist files applied: all, none, or a,b.json
sources=AudioSet_SL,BBC_Sound_Effects,FreeSound,SoundBible  # WavCaps sources
wavcaps_audio_dir=    # folder of WavCaps' per-source FLAC folders (default: WAVCAPS)
audiocaps_audio_dir=  # folder of the downloaded AudioCaps audio (default: searched in AUDIOCAPS)

help_message="Usage: $0 [--blacklists all|none|a.json,b.json] [--sources LIST]
    [--wavcaps_audio_dir DIR] [--audiocaps_audio_dir DIR]"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh

python -m espnet2_slap.corpora.wavcaps --root "${WAVCAPS}" --out_dir data \
    --blacklists "${blacklists}" --sources "${sources}" \
    ${wavcaps_audio_dir:+--audio_dir "${wavcaps_audio_dir}"}
python -m espnet2_slap.corpora.audiocaps --root "${AUDIOCAPS}" --out_dir data \
    ${audiocaps_audio_dir:+--audio_dir "${audiocaps_audio_dir}"}
python -m espnet2_slap.corpora.clotho --root "${CLOTHO}" --out_dir data
python -m espnet2_slap.corpora.caption_sets combine --out_dir data/pretrain_train \
    data/wavcaps data/audiocaps_train data/clotho_development
python -m espnet2_slap.corpora.caption_sets combine --out_dir data/pretrain_valid \
    data/clotho_validation data/audiocaps_val
