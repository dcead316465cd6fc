#!/usr/bin/env bash
# Speech Commands v2 from $SPEECHCOMMANDS (db.sh) with the official validation/testing lists:
# data/{train,valid,test} (35 words) or, with --protocol 12, data/sc12_{train,valid,test}.
set -euo pipefail
protocol=35   # 35 words, or 12 (10 commands + _unknown_ + _silence_)
help_message="Usage: $0 [--protocol 35|12]"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh
opts=(--protocol "${protocol}")
if [ "${protocol}" = 12 ] && [ -n "${SPEECHCOMMANDS_TEST}" ]; then
    opts+=(--test_root "${SPEECHCOMMANDS_TEST}")
fi
python -m espnet2_slap.corpora.speechcommands --root "${SPEECHCOMMANDS}" --out_dir data "${opts[@]}"
