#!/usr/bin/env bash
# ESC-50 from $ESC50 (db.sh) as data/esc50 (2000 clips, labels = class names, utt2fold).
# The five cross-validation folds are cut from the formatted set by run.sh.
set -euo pipefail
help_message="Usage: $0"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh
python -m espnet2_slap.corpora.esc50 --root "${ESC50}" --out_dir data --labels_as names --set_name esc50
