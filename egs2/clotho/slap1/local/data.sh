#!/usr/bin/env bash
# Clotho v2.1 -> data/clotho_{development,validation,evaluation}: caption sets with text
# (first caption), text_refs and utt2captions (all five). Reads the release at CLOTHO (db.sh)
# as it unpacks; downloads nothing.
set -euo pipefail

splits=   # comma-separated subset of development,validation,evaluation (default: all)

help_message="Usage: $0 [--splits development,validation,evaluation]"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh

python -m espnet2_slap.corpora.clotho --root "${CLOTHO}" --out_dir data ${splits:+--splits "${splits}"}
