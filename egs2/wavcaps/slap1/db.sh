# shellcheck shell=bash
# Where the corpora are. Set the variables here or in the environment
# (WAVCAPS=/data/WavCaps AUDIOCAPS=/data/audiocaps CLOTHO=/data/clotho ./run.sh).
#
# WAVCAPS: WavCaps (https://huggingface.co/datasets/cvssp/WavCaps): json_files/ (the four
#   sources and blacklist/) and the FLAC folders AudioSet_SL/ BBC_Sound_Effects/ FreeSound/
#   SoundBible/ unpacked from Zip_files/ (see README.md).
# AUDIOCAPS: AudioCaps v1, as in egs2/audiocaps/slap1/db.sh (train joins pretraining, val
#   validates, test is scored).
# CLOTHO: Clotho v2.1, as in egs2/clotho/slap1/db.sh (development joins pretraining,
#   validation validates, evaluation is scored).
WAVCAPS=${WAVCAPS:-}
AUDIOCAPS=${AUDIOCAPS:-}
CLOTHO=${CLOTHO:-}
