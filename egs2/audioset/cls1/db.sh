# shellcheck shell=bash
# Corpus location; a value already in the environment wins. AUDIOSET holds the official segment
# CSVs and the clips you downloaded (see espnet2_slap/corpora/audioset.py for the layout).
AUDIOSET=${AUDIOSET:-}
