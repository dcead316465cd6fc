# shellcheck shell=bash
# Where the benchmark corpora are, one variable per corpus (see README.md for each layout).
# A value already set in the environment wins; an empty value skips that corpus's sets.
ESC50=${ESC50:-}              # ESC-50-master/ (meta/esc50.csv, audio/)
US8K=${US8K:-}                # UrbanSound8K/ (metadata/UrbanSound8K.csv, audio/fold1..10/)
GTZAN=${GTZAN:-}              # folder holding genres/ (.au) or genres_original/ (.wav)
CREMAD=${CREMAD:-}            # CREMA-D/ (AudioWAV/)
RAVDESS=${RAVDESS:-}          # folder holding Actor_01..Actor_24/ (speech, audio-only)
LIBRISPEECH=${LIBRISPEECH:-}  # LibriSpeech/ (test-clean/, test-other/)
CLOTHO=${CLOTHO:-}            # Clotho v2.1 (Zenodo or aac-datasets layout)
AUDIOCAPS=${AUDIOCAPS:-}      # AudioCaps (dataset/test.csv and the downloaded audio)
