# shellcheck shell=bash
# Corpus locations (see egs2/TEMPLATE/slap1/db.sh for the convention). mini_sounds needs
# none: local/data.sh builds the corpus from recordings shipped in Debian packages, which
# tools/install.sh installs.
