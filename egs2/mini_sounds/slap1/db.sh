# shellcheck shell=bash
# Corpus locations. mini_sounds needs none: local/data.sh builds the corpus from recordings
# shipped in Debian packages, which tools/install.sh installs.
