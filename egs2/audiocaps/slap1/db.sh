# shellcheck shell=bash
# Where the corpora are. Set the variable here or in the environment (AUDIOCAPS=/data/audiocaps ./run.sh).
#
# AUDIOCAPS: AudioCaps v1: train.csv val.csv test.csv (https://github.com/cdjkim/audiocaps,
#   dataset/) and the audio you fetched from YouTube, as {youtube_id}_{start_time}.{flac,wav}
#   or Y{youtube_id}.{flac,wav} in audio/<split>/, audio_32000Hz/<split>/ (aac-datasets) or one
#   folder (see README.md for the search order; local/data.sh --audio_dir DIR adds a folder).
AUDIOCAPS=${AUDIOCAPS:-}
