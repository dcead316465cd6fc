#!/usr/bin/env bash
# Stage 1: data/<split>/ for every split of a CSV caption corpus (edit to fit yours).
#
# Expected layout of ${MYCORPUS} (set it in db.sh):
#   audio/<file>             the clips (wav, flac, ... anything libsndfile reads)
#   captions.csv             header "file_name,split,caption"; one row per caption, so a
#                            clip with five captions has five rows; split is train, valid or test
set -euo pipefail
help_message="Usage: $0  (writes data/<split>/ from \${MYCORPUS}; see db.sh)"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
# shellcheck source=/dev/null
. ./db.sh

if [ -z "${MYCORPUS:-}" ] || [ ! -f "${MYCORPUS}/captions.csv" ]; then
    echo "$0: error: MYCORPUS='${MYCORPUS:-}' ; set MYCORPUS in db.sh to the folder holding" \
        "captions.csv and audio/ (see the top of $0)" >&2
    exit 1
fi
python local/data_prep_csv.py --root "${MYCORPUS}" --out_dir data
for dir in data/*/; do
    utils/fix_data_dir.sh "${dir}"
    utils/validate_data_dir.sh "${dir}"
done
