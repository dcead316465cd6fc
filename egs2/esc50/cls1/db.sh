# shellcheck shell=bash
# Corpus location; a value already in the environment wins. ESC50 is the ESC-50-master folder
# (meta/esc50.csv, audio/*.wav) or its parent.
ESC50=${ESC50:-}
