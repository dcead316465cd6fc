#!/usr/bin/env bash
# Tagging sets of the mini_sounds demo (data/{train,valid,test}) from the demo corpus of
# ../slap1, which is built first (a few minutes) when it is not there yet.
set -euo pipefail
help_message="Usage: $0"
. utils/parse_options.sh
# shellcheck source=/dev/null  # the recipe's environment (venv, PATH), as in ESPnet recipes
. ./path.sh
corpus_dir=../slap1
if [ ! -f "${corpus_dir}/data/local/inventory.tsv" ] || [ ! -f "${corpus_dir}/data/zeroshot_test/labels" ]; then
    echo "local/data.sh: building the mini_sounds corpus in ${corpus_dir} (its local/data.sh)"
    (cd "${corpus_dir}" && local/data.sh)
fi
python local/make_sets.py --corpus_dir "${corpus_dir}" --out_dir data
